// Writes a CoreMLModel as an .mlpackage: Manifest.json + Data/com.apple.CoreML/{model.mlmodel,
// weights/weight.bin}. Everything goes to a temp folder beside the target and is renamed into
// place at the end, so a failure never leaves a half-written package.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { encodeModel } from '../formats/proto/index.js'
import { BlobWriter } from '../formats/milblob-writer.js'
import { writeManifest } from '../formats/manifest.js'
import { UsageError } from '../util/errors.js'
import { isLazy, materialize, type ArrayData, type TensorValue } from '../mil/value.js'
import type { BlobDType } from '../formats/milblob.js'
import type { CoreMLModel } from './model.js'
import { modelToProto } from './to-proto.js'
import { dataBytes } from './proto-values.js'

export interface WritePackageOptions {
  /** Replace an existing package at the path (default: refuse). */
  overwrite?: boolean
  /** Called after each blob is written (bytes so far), for progress bars. */
  onBlob?: (bytesWritten: number, blobs: number) => void
}

export interface WriteReport {
  path: string
  blobs: number
  /** Constants that reused an identical blob instead of writing it again. */
  sharedBlobs: number
  weightBytes: number
}

/**
 * Writes `model` to `path` (a `.mlpackage` folder). Weights are written one at a time, each
 * loaded (if lazy) only while it is written; identical tensors — across functions too — are
 * stored once.
 */
export function writePackage(
  model: CoreMLModel,
  path: string,
  opts: WritePackageOptions = {},
): WriteReport {
  if (!path.endsWith('.mlpackage'))
    throw new UsageError(`${path}: a CoreML package path must end in .mlpackage`)
  if (existsSync(path) && !opts.overwrite)
    throw new UsageError(`${path} already exists (pass overwrite to replace it)`)
  mkdirSync(dirname(path), { recursive: true })
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`)
  const data = join(tmp, 'Data', 'com.apple.CoreML')
  const weights = join(data, 'weights')
  try {
    mkdirSync(weights, { recursive: true })
    const blobPath = join(weights, 'weight.bin')
    const writer = BlobWriter.open(blobPath)
    const byIdentity = new Map<object | string, number>()
    const byContent = new Map<string, number>()
    let shared = 0
    let bytes = 0
    const sink = (v: TensorValue): number => {
      // Same data object, or lazy data with the same source key: no need to read or hash it.
      const idKey = isLazy(v.data) && v.data.key ? v.data.key : (v.data as object)
      const known = byIdentity.get(idKey)
      if (known !== undefined) {
        shared++
        return known
      }
      if (isLazy(v.data) && v.data.chunks) {
        // Streamed piece by piece (never whole in memory); shared by identity or key only.
        const n = v.type.shape.reduce<number>((a, b) => a * Number(b), 1)
        const pieces = (function* (chunks: Iterable<ArrayData>) {
          for (const c of chunks) {
            const b = dataBytes(c)
            bytes += b.byteLength
            opts.onBlob?.(bytes, writer.count)
            yield b
          }
        })(v.data.chunks())
        const offset = writer.appendChunks(v.type.dtype as BlobDType, n, pieces)
        byIdentity.set(idKey, offset)
        return offset
      }
      const d: ArrayData = materialize(v)
      const raw = dataBytes(d)
      // Content key: dtype + shape + bytes, so equal tensors from different sources share a blob.
      const hash = createHash('sha256')
        .update(`${v.type.dtype}:${v.type.shape.join(',')}:`)
        .update(raw)
        .digest('hex')
      const again = byContent.get(hash)
      if (again !== undefined) {
        shared++
        byIdentity.set(idKey, again)
        return again
      }
      const offset = writer.append(
        v.type.dtype as BlobDType,
        raw,
        v.type.shape.reduce<number>((a, b) => a * Number(b), 1),
      )
      byIdentity.set(idKey, offset)
      byContent.set(hash, offset)
      bytes += raw.byteLength
      opts.onBlob?.(bytes, writer.count)
      return offset
    }
    const proto = modelToProto(model, sink)
    const blobs = writer.count
    writer.close()
    if (blobs === 0) rmSync(blobPath, { force: true })
    const modelBytes = encodeModel(proto)
    writeFileSync(join(data, 'model.mlmodel'), modelBytes)
    // Deterministic item ids, so converting the same input twice gives identical packages.
    const digest = createHash('sha256').update(modelBytes).digest('hex')
    writeManifest(tmp, {
      modelId: uuidFrom(digest, 'model'),
      weightsId: uuidFrom(digest, 'weights'),
    })
    if (existsSync(path)) rmSync(path, { recursive: true, force: true })
    renameSync(tmp, path)
    return { path, blobs, sharedBlobs: shared, weightBytes: bytes }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    throw e
  }
}

/** An upper-case, UUID-shaped id derived from a digest. */
function uuidFrom(digest: string, salt: string): string {
  const h = createHash('sha256').update(digest).update(salt).digest('hex').toUpperCase()
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}
