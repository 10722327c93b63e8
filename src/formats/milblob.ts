// weight.bin: MIL blob storage v2 (coreml-format.md §4). All integers little-endian.
//
//   offset 0       storage header, 64 bytes
//                    u32 count          number of blobs
//                    u32 version        2
//                    7 × u64 reserved   0
//   offset 64      blob metadata #0, 64 bytes     ← BlobFileValue.offset points here
//                    u32 sentinel       0xDEADBEEF
//                    u32 dtype          BlobDataType code (BLOB_DTYPES)
//                    u64 sizeInBytes    data length; sub-byte: ceil(n·bits/8)
//                    u64 dataOffset     absolute offset of the data (= metadata + 64)
//                    u64 paddingBits    sub-byte only: unused bits of the last byte, < 8
//                    4 × u64 reserved   0 (pre-iOS18 writers leave garbage: ignored)
//   offset 128     data #0
//                  zero padding to the next multiple of 64
//   offset k·64    blob metadata #1, then data #1, …   (no padding after the last blob)
//
// Sub-byte data is bit-packed LSB-first (bitpack.ts). Typed-array views assume a little-endian
// host, like every platform Node runs on that we target.

//
// This module is the format itself (constants, dtype table, record codecs); the streaming
// writer is milblob-writer.ts and the random-access reader milblob-reader.ts.

import { UsageError } from '../util/errors.js'
import { packedByteLength } from './bitpack.js'

/** Every header and metadata record starts on a multiple of this. */
export const ALIGNMENT = 64
/** First word of every blob metadata record. */
export const BLOB_SENTINEL = 0xdeadbeef
/** The only storage version readers accept. */
export const STORAGE_VERSION = 2
/** Size of the storage header. */
export const HEADER_SIZE = 64
/** Size of each blob metadata record. */
export const METADATA_SIZE = 64

/** BlobDataType: MIL dtype name ↔ code in the metadata record ↔ bits per element. */
export const BLOB_DTYPES = [
  { name: 'fp16', code: 1, bits: 16 },
  { name: 'fp32', code: 2, bits: 32 },
  { name: 'uint8', code: 3, bits: 8 },
  { name: 'int8', code: 4, bits: 8 },
  { name: 'bf16', code: 5, bits: 16 },
  { name: 'int16', code: 6, bits: 16 },
  { name: 'uint16', code: 7, bits: 16 },
  { name: 'int4', code: 8, bits: 4 },
  { name: 'uint1', code: 9, bits: 1 },
  { name: 'uint2', code: 10, bits: 2 },
  { name: 'uint4', code: 11, bits: 4 },
  { name: 'uint3', code: 12, bits: 3 },
  { name: 'uint6', code: 13, bits: 6 },
  { name: 'int32', code: 14, bits: 32 },
  { name: 'uint32', code: 15, bits: 32 },
  { name: 'fp8e4m3fn', code: 16, bits: 8 },
  { name: 'fp8e5m2', code: 17, bits: 8 },
] as const

/** MIL dtype name of a blob (`fp16`, `uint4`, …). */
export type BlobDType = (typeof BLOB_DTYPES)[number]['name']
/** One row of BLOB_DTYPES. */
export type BlobDTypeRow = (typeof BLOB_DTYPES)[number]

const BY_NAME = new Map<string, BlobDTypeRow>(BLOB_DTYPES.map((r) => [r.name, r]))
const BY_CODE = new Map<number, BlobDTypeRow>(BLOB_DTYPES.map((r) => [r.code, r]))

/** The table row of a metadata dtype code, or undefined if unknown. */
export function blobDTypeByCode(code: number): BlobDTypeRow | undefined {
  return BY_CODE.get(code)
}

/**
 * The table row of a dtype name.
 * @throws UsageError for an unknown name
 */
export function blobDTypeRow(dtype: string): BlobDTypeRow {
  const row = BY_NAME.get(dtype)
  if (row) return row
  const known = [...BY_NAME.keys()].join(', ')
  throw new UsageError(`unknown blob dtype '${dtype}' (known: ${known})`)
}

/** Bytes needed for `elementCount` elements of `dtype` (sub-byte types packed). */
export function blobByteLength(dtype: BlobDType, elementCount: number): number {
  return packedByteLength(elementCount, blobDTypeRow(dtype).bits)
}

/** Rounds up to the next multiple of ALIGNMENT. */
export function align64(n: number): number {
  return Math.ceil(n / ALIGNMENT) * ALIGNMENT
}

/** The 64-byte storage header. */
export function encodeHeader(count: number): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE)
  const v = new DataView(b.buffer)
  v.setUint32(0, count, true)
  v.setUint32(4, STORAGE_VERSION, true)
  return b
}

/** The 64-byte metadata record of one blob (reserved words zero). */
export function encodeMetadata(
  dtype: BlobDType,
  sizeInBytes: number,
  dataOffset: number,
  paddingBits: number,
): Uint8Array {
  const b = new Uint8Array(METADATA_SIZE)
  const v = new DataView(b.buffer)
  v.setUint32(0, BLOB_SENTINEL, true)
  v.setUint32(4, blobDTypeRow(dtype).code, true)
  v.setBigUint64(8, BigInt(sizeInBytes), true)
  v.setBigUint64(16, BigInt(dataOffset), true)
  v.setBigUint64(24, BigInt(paddingBits), true)
  return b
}
