// Reads an .mlpackage into a CoreMLModel. Weights stay on disk: each constant that lives in
// weight.bin becomes lazy data whose record (sentinel, dtype, size) is checked when the package
// is read and again when the data is loaded.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { decodeModel } from '../formats/proto/index.js'
import { BlobReader, type BlobInfo } from '../formats/milblob-reader.js'
import { readManifest } from '../formats/manifest.js'
import { FormatError } from '../util/errors.js'
import { numel, type TensorType } from '../mil/types.js'
import type { LazyData } from '../mil/value.js'
import { modelFromProto, type BlobResolver, type FromProtoOptions } from './from-proto.js'
import type { CoreMLModel } from './model.js'
import { dataFromBytes } from './proto-values.js'

/**
 * A blob's record, checked against the tensor that refers to it: it lies within the weight file
 * (whose header is valid) and holds `type`'s dtype and element count. Reads no data.
 */
function checkedBlob(r: BlobReader, offset: number, type: TensorType, where: string): BlobInfo {
  const n = numel(type.shape)
  const info = r.info(offset)
  if (info.dtype !== type.dtype || info.elementCount !== n)
    throw new FormatError(
      r.path,
      `blob at offset ${offset} holds ${info.elementCount} ${info.dtype} values; ${where} needs ${n} ${type.dtype}`,
    )
  return info
}

/**
 * Blob references of a package, checked when the model is read (so `inspect` and `lint` see a
 * missing, empty or truncated weight.bin) and loaded lazily. `readers` caches one open reader
 * per weight file for the checks; the caller closes them.
 */
export function blobResolver(
  weightsDir: string | undefined,
  owner: string,
  readers: Map<string, BlobReader>,
): BlobResolver {
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
    if (!Number.isFinite(numel(type.shape)))
      throw new FormatError(path, `${where}: blob with unknown dimensions`)
    const open = () => {
      if (!existsSync(path)) throw new FormatError(path, `missing weight file (needed by ${where})`)
      return BlobReader.open(path)
    }
    let reader = readers.get(path)
    if (!reader) readers.set(path, (reader = open()))
    checkedBlob(reader, offset, type, where)
    return {
      lazy: true,
      key: `${path}@${offset}`,
      blob: { path, offset },
      load() {
        const r = open()
        try {
          const info = checkedBlob(r, offset, type, where)
          return dataFromBytes(
            type.dtype,
            r.readSlice(info, 0, info.sizeInBytes),
            info.elementCount,
          )
        } finally {
          r.close()
        }
      },
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
  const readers = new Map<string, BlobReader>()
  try {
    return modelFromProto(
      proto,
      modelPath,
      blobResolver(manifest.weightsDir, modelPath, readers),
      opts,
    )
  } finally {
    for (const r of readers.values()) r.close()
  }
}
