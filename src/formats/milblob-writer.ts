// Streaming writer of weight.bin files (MIL blob storage v2; layout in milblob.ts).

import { closeSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { UsageError } from '../util/errors.js'
import { packedByteLength } from './bitpack.js'
import {
  align64,
  blobDTypeRow,
  encodeHeader,
  encodeMetadata,
  HEADER_SIZE,
  METADATA_SIZE,
} from './milblob.js'
import type { BlobDType } from './milblob.js'

/** Raw view of a typed array's bytes (no copy). */
function asBytes(data: ArrayBufferView): Uint8Array {
  return data instanceof Uint8Array
    ? data
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

// fs calls take at most 2 GiB − 1 bytes at a time.
const IO_CHUNK = 1 << 30

function writeFully(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.length;) {
    const n = writeSync(fd, bytes, done, Math.min(IO_CHUNK, bytes.length - done), position + done)
    done += n
  }
}

/**
 * Streams blobs into a new weight.bin. Data goes to `<path>.partial`, renamed to `path` by
 * `close()`; only the blob being appended is ever in memory.
 * @example
 * const w = BlobWriter.open('weights/weight.bin')
 * const offset = w.append('fp16', halfBits, halfBits.length) // → BlobFileValue.offset
 * w.close()
 */
export class BlobWriter {
  #fd: number | undefined
  #length = HEADER_SIZE
  #count = 0
  readonly #tmp: string

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.#fd = fd
    this.#tmp = `${path}.partial`
  }

  /** Creates the file (header with count 0) at a temporary path next to `path`. */
  static open(path: string): BlobWriter {
    const fd = openSync(`${path}.partial`, 'w')
    const w = new BlobWriter(path, fd)
    writeFully(fd, encodeHeader(0), 0)
    return w
  }

  /** Number of blobs appended so far. */
  get count(): number {
    return this.#count
  }

  /**
   * Appends one blob. `data` holds the stored bytes: raw little-endian elements, or for sub-byte
   * dtypes the packed stream (packBits). Returns the metadata offset for BlobFileValue.offset.
   * @throws UsageError if the byte length does not match `elementCount` of `dtype`
   */
  append(dtype: BlobDType, data: ArrayBufferView, elementCount: number): number {
    return this.appendChunks(dtype, elementCount, [asBytes(data)])
  }

  /**
   * Appends one blob whose data arrives in pieces (for tensors too large for one buffer);
   * the pieces must add up to exactly blobByteLength(dtype, elementCount).
   */
  appendChunks(dtype: BlobDType, elementCount: number, chunks: Iterable<ArrayBufferView>): number {
    const fd = this.#openFd()
    const { bits } = blobDTypeRow(dtype)
    if (!Number.isSafeInteger(elementCount) || elementCount < 0) {
      throw new UsageError(`blob element count must be a non-negative integer, got ${elementCount}`)
    }
    const size = packedByteLength(elementCount, bits)
    const metaOffset = align64(this.#length)
    const dataOffset = metaOffset + METADATA_SIZE
    const padding = size * 8 - elementCount * bits
    writeFully(fd, new Uint8Array(metaOffset - this.#length), this.#length)
    writeFully(fd, encodeMetadata(dtype, size, dataOffset, padding), metaOffset)
    let written = 0
    for (const chunk of chunks) {
      const bytes = asBytes(chunk)
      if (written + bytes.length > size) break
      writeFully(fd, bytes, dataOffset + written)
      written += bytes.length
    }
    // A short or long blob is not committed: #length stays put, so the next append overwrites it.
    if (written !== size) {
      throw new UsageError(
        `${dtype} blob of ${elementCount} elements needs ${size} bytes; data does not match`,
      )
    }
    this.#length = dataOffset + size
    this.#count++
    return metaOffset
  }

  /** Writes the final blob count into the header and moves the file to its final path. */
  close(): void {
    const fd = this.#openFd()
    if (this.#count > 0xffffffff) throw new UsageError('more than 2^32 − 1 blobs in one file')
    writeFully(fd, encodeHeader(this.#count), 0)
    ftruncateSync(fd, this.#length) // drop any uncommitted tail
    closeSync(fd)
    this.#fd = undefined
    renameSync(this.#tmp, this.path)
  }

  /** Discards the partial file (after a failure); safe to call more than once. */
  abort(): void {
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = undefined
    rmSync(this.#tmp, { force: true })
  }

  #openFd(): number {
    if (this.#fd === undefined) throw new UsageError(`${this.path}: blob writer is closed`)
    return this.#fd
  }
}
