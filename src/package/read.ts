// Reads an .mlpackage into a CoreMLModel. Weights stay on disk: each constant that lives in
// weight.bin becomes lazy data whose record (sentinel, dtype, size) is checked when it is loaded.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { decodeModel } from '../formats/proto/index.js'
import { BlobReader } from '../formats/milblob-reader.js'
import { readManifest } from '../formats/manifest.js'
import { blobDTypeRow, type BlobDType } from '../formats/milblob.js'
import { FormatError } from '../util/errors.js'
import { DTYPES, numel, type TensorType } from '../mil/types.js'
import type { LazyData } from '../mil/value.js'
import { modelFromProto, type BlobResolver, type FromProtoOptions } from './from-proto.js'
import type { CoreMLModel } from './model.js'
import { dataFromBytes } from './proto-values.js'

/** Lazy blob loading shared by the package and compiled-model readers. */
export function blobResolver(weightsDir: string | undefined, owner: string): BlobResolver {
  return (fileName: string, offset: number, type: TensorType, where: string): LazyData => {
    const name = basename(fileName)
    if (!fileName.startsWith('@model_path/') || name === '..' || name.length === 0)
      throw new FormatError(owner, `${where}: blob path '${fileName}' is not inside the model`)
    if (!weightsDir)
      throw new FormatError(
        owner,
        `${where}: refers to ${fileName} but the model has no weights folder`,
      )
    const path = join(weightsDir, name)
    const n = numel(type.shape)
    const bits = DTYPES[type.dtype].bits
    if (!Number.isFinite(n)) throw new FormatError(path, `${where}: blob with unknown dimensions`)
    return {
      lazy: true,
      key: `${path}@${offset}`,
      blob: { path, offset },
      load() {
        if (!existsSync(path))
          throw new FormatError(path, `missing weight file (needed by ${where})`)
        const r = BlobReader.open(path)
        try {
          blobDTypeRow(type.dtype)
          const b = r.read(offset, type.dtype as BlobDType)
          if (b.elementCount !== n)
            throw new FormatError(
              path,
              `blob at offset ${offset} holds ${b.elementCount} ${type.dtype} values; ${where} needs ${n}`,
            )
          return dataFromBytes(type.dtype, b.bytes, n)
        } finally {
          r.close()
        }
      },
      ...(bits ? {} : {}),
    }
  }
}

/**
 * Opens an `.mlpackage` (ours or coremltools'). Ops are rebuilt through their specs, so a file
 * whose declared types disagree with type inference is rejected; unknown op types are kept as
 * opaque ops unless `strict`.
 */
export function readPackage(path: string, opts: FromProtoOptions = {}): CoreMLModel {
  if (!existsSync(path) || !statSync(path).isDirectory())
    throw new FormatError(path, 'not an .mlpackage folder')
  const manifest = readManifest(path)
  const modelPath = manifest.rootModelPath
  if (!existsSync(modelPath))
    throw new FormatError(modelPath, 'the model file named by Manifest.json is missing')
  const proto = decodeModel(readFileSync(modelPath), modelPath)
  return modelFromProto(proto, modelPath, blobResolver(manifest.weightsDir, modelPath), opts)
}
