// Random-access reader of weight.bin files (MIL blob storage v2; layout in milblob.ts).

import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { FormatError, UsageError } from '../util/errors.js'
import { unpackBits } from './bitpack.js'
import {
  align64,
  BLOB_SENTINEL,
  blobDTypeByCode,
  blobDTypeRow,
  HEADER_SIZE,
  METADATA_SIZE,
  STORAGE_VERSION,
} from './milblob.js'
import type { BlobDType } from './milblob.js'

// fs calls take at most 2 GiB − 1 bytes at a time.
const IO_CHUNK = 1 << 30

function readFully(fd: number, bytes: Uint8Array, position: number): number {
  let done = 0
  while (done < bytes.length) {
    const n = readSync(fd, bytes, done, Math.min(IO_CHUNK, bytes.length - done), position + done)
    if (n === 0) break
    done += n
  }
  return done
}

/** One blob's metadata record, validated against the file. */
export interface BlobInfo {
  /** Offset of the metadata record (what BlobFileValue.offset holds). */
  offset: number
  dtype: BlobDType
  /** Absolute offset of the data. */
  dataOffset: number
  sizeInBytes: number
  elementCount: number
}

/** A blob's metadata plus its stored bytes (packed for sub-byte dtypes). */
export interface BlobData extends BlobInfo {
  bytes: Uint8Array
}

/**
 * Random access to the blobs of a weight.bin: reads only the records asked for.
 * Every offset and size is checked against the file length before anything is allocated.
 * @example
 * const r = BlobReader.open('weights/weight.bin')
 * const { bytes, elementCount } = r.read(64n, 'fp16')
 * r.close()
 */
export class BlobReader {
  #fd: number | undefined

  private constructor(
    readonly path: string,
    fd: number,
    /** File length in bytes. */
    readonly size: number,
    /** Blob count from the header. */
    readonly count: number,
  ) {
    this.#fd = fd
  }

  /**
   * Opens a weight.bin and validates its header (version 2, a count the file can hold).
   * @throws FormatError naming the file
   */
  static open(path: string): BlobReader {
    const fd = openSync(path, 'r')
    try {
      const size = fstatSync(fd).size
      const head = new Uint8Array(HEADER_SIZE)
      if (size < HEADER_SIZE || readFully(fd, head, 0) < HEADER_SIZE) {
        throw new FormatError(
          path,
          `weight file is ${size} bytes, shorter than its ${HEADER_SIZE}-byte header`,
        )
      }
      const v = new DataView(head.buffer)
      const count = v.getUint32(0, true)
      const version = v.getUint32(4, true)
      if (version !== STORAGE_VERSION) {
        throw new FormatError(
          path,
          `unsupported weight file version ${version} (expected ${STORAGE_VERSION})`,
        )
      }
      // Each blob needs at least its 64-byte record after the header.
      if (HEADER_SIZE + count * METADATA_SIZE > size) {
        throw new FormatError(
          path,
          `header claims ${count} blobs but the file is only ${size} bytes`,
        )
      }
      return new BlobReader(path, fd, size, count)
    } catch (e) {
      closeSync(fd)
      throw e
    }
  }

  /** Reads and validates the metadata record at `offset` (no data is read). */
  info(offset: number | bigint): BlobInfo {
    const fd = this.#openFd()
    const at = typeof offset === 'bigint' ? this.#checkU64(offset, 0, 'blob offset') : offset
    if (!Number.isSafeInteger(at) || at < HEADER_SIZE || at + METADATA_SIZE > this.size) {
      throw this.#error(at, `no blob record fits here (file is ${this.size} bytes)`)
    }
    const rec = new Uint8Array(METADATA_SIZE)
    readFully(fd, rec, at)
    const v = new DataView(rec.buffer)
    const sentinel = v.getUint32(0, true)
    if (sentinel !== BLOB_SENTINEL) {
      throw this.#error(
        at,
        `bad sentinel 0x${sentinel.toString(16)} (expected 0x${BLOB_SENTINEL.toString(16)})`,
      )
    }
    const code = v.getUint32(4, true)
    const row = blobDTypeByCode(code)
    if (!row) throw this.#error(at, `unknown blob data type code ${code}`)
    const sizeInBytes = this.#checkU64(v.getBigUint64(8, true), at, 'data size')
    const dataOffset = this.#checkU64(v.getBigUint64(16, true), at, 'data offset')
    if (dataOffset < at + METADATA_SIZE || dataOffset + sizeInBytes > this.size) {
      throw this.#error(
        at,
        `data [${dataOffset}, ${dataOffset + sizeInBytes}) is outside the file (${this.size} bytes) or overlaps its record`,
      )
    }
    let elementCount: number
    if (row.bits < 8) {
      const padding = v.getBigUint64(24, true)
      if (padding >= 8n) throw this.#error(at, `padding of ${padding} bits (must be < 8)`)
      const bits = sizeInBytes * 8 - Number(padding)
      if (bits % row.bits !== 0 || (sizeInBytes > 0 && bits <= (sizeInBytes - 1) * 8)) {
        throw this.#error(
          at,
          `${sizeInBytes} bytes with ${padding} padding bits is not a whole number of ${row.name}`,
        )
      }
      elementCount = bits / row.bits
    } else {
      // Padding and reserved words are meaningless here; coremltools 7.2 leaves garbage in them.
      const width = row.bits / 8
      if (sizeInBytes % width !== 0)
        throw this.#error(at, `${sizeInBytes} bytes is not a whole number of ${row.name}`)
      elementCount = sizeInBytes / width
    }
    return { offset: at, dtype: row.name, dataOffset, sizeInBytes, elementCount }
  }

  /**
   * Reads one blob. With `expectedDtype`, a record of another dtype is a FormatError.
   * @throws FormatError naming the file and the offset
   */
  read(offset: number | bigint, expectedDtype?: BlobDType): BlobData {
    const info = this.info(offset)
    if (expectedDtype !== undefined && info.dtype !== expectedDtype) {
      throw this.#error(info.offset, `blob is ${info.dtype}, expected ${expectedDtype}`)
    }
    return { ...info, bytes: this.#readData(info, 0, info.sizeInBytes) }
  }

  /**
   * Reads `length` bytes starting `start` bytes into a blob's data, without loading the rest
   * (e.g. a few rows of a large embedding table).
   * @throws FormatError for a bad record; UsageError if the range is outside the blob
   */
  readSlice(blob: number | bigint | BlobInfo, start: number, length: number): Uint8Array {
    const info = typeof blob === 'object' ? blob : this.info(blob)
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(length) ||
      start < 0 ||
      length < 0 ||
      start + length > info.sizeInBytes
    ) {
      throw new UsageError(
        `${this.path}: bytes [${start}, ${start + length}) are outside the ${info.sizeInBytes}-byte blob at offset ${info.offset}`,
      )
    }
    return this.#readData(info, start, length)
  }

  #readData(info: BlobInfo, start: number, length: number): Uint8Array {
    const bytes = new Uint8Array(length)
    if (readFully(this.#openFd(), bytes, info.dataOffset + start) !== length) {
      throw this.#error(info.offset, 'file shrank while reading')
    }
    return bytes
  }

  /** Every blob's metadata, following the chain from offset 64 for `count` records. */
  entries(): BlobInfo[] {
    const out: BlobInfo[] = []
    for (let i = 0, at = HEADER_SIZE; i < this.count; i++) {
      const info = this.info(at)
      out.push(info)
      at = align64(info.dataOffset + info.sizeInBytes)
    }
    return out
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = undefined
  }

  #checkU64(value: bigint, at: number, what: string): number {
    if (value > BigInt(this.size))
      throw this.#error(at, `${what} ${value} is past the end of the file (${this.size} bytes)`)
    return Number(value)
  }

  #error(at: number, problem: string): FormatError {
    return new FormatError(this.path, `blob at offset ${at}: ${problem}`)
  }

  #openFd(): number {
    if (this.#fd === undefined) throw new UsageError(`${this.path}: blob reader is closed`)
    return this.#fd
  }
}

/** Typed elements of a blob: fp16/bf16 as Uint16Array bit patterns, sub-byte dtypes unpacked. */
export type BlobElements =
  Float32Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Uint8Array | Int8Array

const VIEWS: Partial<
  Record<BlobDType, new (b: ArrayBuffer, o: number, n: number) => BlobElements>
> = {
  fp16: Uint16Array,
  bf16: Uint16Array,
  fp32: Float32Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  fp8e4m3fn: Uint8Array,
  fp8e5m2: Uint8Array,
}

/** Decodes a blob's bytes into typed elements (copying only when unaligned or sub-byte). */
export function blobElements(
  blob: Pick<BlobData, 'dtype' | 'bytes' | 'elementCount'>,
): BlobElements {
  const { bits } = blobDTypeRow(blob.dtype)
  if (bits < 8) return unpackBits(blob.bytes, bits, blob.elementCount, blob.dtype === 'int4')
  const View = VIEWS[blob.dtype]!
  const width = bits / 8
  let b = blob.bytes
  if (b.byteOffset % width !== 0) b = b.slice()
  return new View(b.buffer as ArrayBuffer, b.byteOffset, blob.elementCount)
}
