// safetensors reader (Hugging Face's tensor file format).
//
//   header_len  u64 little-endian
//   header      header_len bytes of UTF-8 JSON (may be padded with spaces):
//                 { "__metadata__": { string: string }?,
//                   "<name>": { "dtype": "BF16", "shape": [d0, d1, ...], "data_offsets": [begin, end] } }
//   data        tensor bytes, little-endian, row-major; offsets are relative to the end of the header
//
// The header is validated before anything in it is trusted: its length is capped, every dtype is
// known, shape × dtype size equals the byte range, and ranges lie inside the file without
// overlapping. Tensors are then read one at a time at their offset; the file is never read whole.

import { fstatSync } from 'node:fs'
import { FormatError } from '../util/errors.js'
import { halfToFloat } from '../util/fp16.js'
import { checkRows, floatsFor, readRange, withFile } from './read-range.js'

/** Header length cap: real headers are a few MB at most (tens of thousands of tensors). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024

/** Element size in bytes of each dtype we read. */
export const SAFETENSORS_DTYPES = { BF16: 2, F16: 2, F32: 4, I8: 1, U8: 1, I32: 4, I64: 8 } as const
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPES

/** One tensor's header entry, with its byte range resolved to absolute file offsets. */
export interface SafetensorsTensorInfo {
  name: string
  dtype: SafetensorsDtype
  shape: number[]
  /** Absolute offset of the first byte in the file. */
  fileOffset: number
  byteLength: number
}

/** A validated safetensors header. */
export interface SafetensorsFile {
  path: string
  fileSize: number
  /** Absolute offset of the data section (8 + header length). */
  dataOffset: number
  /** The `__metadata__` map, if present. */
  metadata: Record<string, string> | undefined
  /** Tensors in header order. */
  tensors: Map<string, SafetensorsTensorInfo>
}

/** A tensor's raw little-endian bytes, plus a converter to float32. */
export interface RawTensor {
  dtype: SafetensorsDtype
  shape: number[]
  data: Uint8Array
  toFloat32(): Float32Array
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

function parseEntry(path: string, name: string, v: unknown, dataOffset: number, dataSize: number) {
  const fail = (problem: string): never => {
    throw new FormatError(path, `tensor '${name}': ${problem}`)
  }
  if (!isObject(v)) return fail('header entry is not an object')
  const { dtype, shape, data_offsets: range } = v
  if (typeof dtype !== 'string') return fail('dtype is missing')
  if (!(dtype in SAFETENSORS_DTYPES)) {
    fail(`unsupported dtype ${dtype} (supported: ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`)
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) return fail('shape is not a list of sizes')
  if (!Array.isArray(range) || range.length !== 2 || !range.every(isCount) || range[0] > range[1]) {
    return fail('data_offsets is not [begin, end]')
  }
  const elements = (shape as number[]).reduce((a, b) => a * b, 1)
  const bytes = elements * SAFETENSORS_DTYPES[dtype as SafetensorsDtype]
  if (!Number.isSafeInteger(bytes) || bytes !== range[1] - range[0]) {
    fail(
      `shape [${shape.join(', ')}] of ${dtype} needs ${bytes} bytes, data_offsets span ${range[1] - range[0]}`,
    )
  }
  if (range[1] > dataSize)
    fail(`data_offsets end ${range[1]} is past the data section (${dataSize} bytes); truncated?`)
  return {
    name,
    dtype: dtype as SafetensorsDtype,
    shape: shape as number[],
    fileOffset: dataOffset + range[0],
    byteLength: bytes,
  }
}

function parseMetadata(path: string, v: unknown): Record<string, string> {
  if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw new FormatError(path, '__metadata__ must map strings to strings')
  }
  return v as Record<string, string>
}

/** Parses a header already read from `path` (exposed for tests and in-memory use). */
export function parseSafetensorsHeader(
  path: string,
  json: string,
  fileSize: number,
): SafetensorsFile {
  const dataOffset = 8 + Buffer.byteLength(json)
  let header: unknown
  try {
    header = JSON.parse(json)
  } catch (err) {
    throw new FormatError(path, `header is not valid JSON: ${(err as Error).message}`)
  }
  if (!isObject(header)) throw new FormatError(path, 'header is not a JSON object')
  let metadata: Record<string, string> | undefined
  const tensors = new Map<string, SafetensorsTensorInfo>()
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') metadata = parseMetadata(path, v)
    else tensors.set(name, parseEntry(path, name, v, dataOffset, fileSize - dataOffset))
  }
  const sorted = [...tensors.values()].sort((a, b) => a.fileOffset - b.fileOffset)
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]
    // Zero-length tensors take no bytes, so they may share an offset with a neighbour.
    if (sorted[i].fileOffset < prev.fileOffset + prev.byteLength && sorted[i].byteLength > 0) {
      throw new FormatError(path, `tensors '${prev.name}' and '${sorted[i].name}' overlap`)
    }
  }
  return { path, fileSize, dataOffset, metadata, tensors }
}

/**
 * Reads and validates a safetensors header; tensor data is not read.
 * @example const f = readSafetensorsHeader('model.safetensors'); [...f.tensors.keys()]
 */
export function readSafetensorsHeader(path: string): SafetensorsFile {
  return withFile(path, (fd) => {
    const size = fstatSync(fd).size
    if (size < 8)
      throw new FormatError(path, `truncated: ${size} bytes is too short for a safetensors file`)
    const n = Buffer.from(readRange(path, fd, 0, 8)).readBigUInt64LE(0)
    if (n > BigInt(MAX_HEADER_BYTES)) {
      throw new FormatError(
        path,
        `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit; not a safetensors file?`,
      )
    }
    if (Number(n) > size - 8)
      throw new FormatError(path, `truncated: header length ${n} but the file is ${size} bytes`)
    const json = new TextDecoder('utf-8', { fatal: true })
    let text: string
    try {
      text = json.decode(readRange(path, fd, 8, Number(n)))
    } catch {
      throw new FormatError(path, 'header is not valid UTF-8')
    }
    return parseSafetensorsHeader(path, text, size)
  })
}

function infoOf(file: SafetensorsFile, name: string): SafetensorsTensorInfo {
  const info = file.tensors.get(name)
  if (!info) throw new FormatError(file.path, `no tensor named '${name}'`)
  return info
}

/** Reads one tensor's raw bytes; `toFloat32()` converts on demand. */
export function readSafetensorsTensor(file: SafetensorsFile, name: string): RawTensor {
  const info = infoOf(file, name)
  const data = withFile(file.path, (fd) =>
    readRange(file.path, fd, info.fileOffset, info.byteLength),
  )
  return {
    dtype: info.dtype,
    shape: info.shape,
    data,
    toFloat32: () => toFloat32(info.dtype, data),
  }
}

/**
 * Reads one tensor as float32, into a new array or the start of `out` (a reusable buffer of at
 * least the tensor's size: a view of exactly the tensor is returned). Elements of 4 bytes or
 * fewer are read into the tail of the output and widened in place, front to back (each write
 * lands on bytes whose source elements were already read), so nothing else is allocated.
 */
export function readSafetensorsFloat32(
  file: SafetensorsFile,
  name: string,
  out?: Float32Array,
): Float32Array {
  const info = infoOf(file, name)
  const size = SAFETENSORS_DTYPES[info.dtype]
  const n = info.byteLength / size
  const dst = floatsFor(n, out, `tensor '${name}'`)
  if (size > 4) {
    const raw = readSafetensorsTensor(file, name).data
    widen(info.dtype, raw.buffer, raw.byteOffset, n, dst)
    return dst
  }
  const at = dst.byteOffset + (4 - size) * n
  const tail = new Uint8Array(dst.buffer, at, info.byteLength)
  withFile(file.path, (fd) => readRange(file.path, fd, info.fileOffset, info.byteLength, tail))
  widen(info.dtype, dst.buffer, at, n, dst)
  return dst
}

/** Rows [start, end) of axis 0 as float32, reading only their bytes. */
export function readSafetensorsRows(
  file: SafetensorsFile,
  name: string,
  start: number,
  end: number,
): Float32Array {
  const info = infoOf(file, name)
  const rows = info.shape[0] ?? 1
  checkRows(file.path, name, start, end, rows)
  const rowBytes = info.byteLength / rows
  const raw = withFile(file.path, (fd) =>
    readRange(file.path, fd, info.fileOffset + start * rowBytes, (end - start) * rowBytes),
  )
  return toFloat32(info.dtype, raw)
}

/** Converts little-endian tensor bytes of `dtype` to float32 (bf16/f16 exactly, ints by value). */
export function toFloat32(dtype: SafetensorsDtype, data: Uint8Array): Float32Array {
  const n = data.byteLength / SAFETENSORS_DTYPES[dtype]
  const out = new Float32Array(n)
  // Copy to an aligned buffer: typed-array views need element-aligned offsets.
  const src = data.byteOffset % 8 === 0 ? data : data.slice()
  widen(dtype, src.buffer, src.byteOffset, n, out)
  return out
}

/** Widens `n` elements of one dtype at byte `at` of `buf` into `out` (may alias `out`'s tail). */
type Widen = (buf: ArrayBufferLike, at: number, n: number, out: Float32Array) => void

const copyFrom =
  <T extends ArrayLike<number>>(
    View: new (b: ArrayBufferLike, at: number, n: number) => T,
  ): Widen =>
  (buf, at, n, out) => {
    const src = new View(buf, at, n)
    for (let i = 0; i < n; i++) out[i] = src[i]
  }

const WIDEN: Record<SafetensorsDtype, Widen> = {
  F32: (buf, at, n, out) => {
    if (buf !== out.buffer || at !== out.byteOffset) out.set(new Float32Array(buf, at, n))
  },
  // bf16 is the top half of a float32: shifting the bits is exact.
  // Pairs are read as one 32-bit word when aligned (about twice as fast as element by element).
  BF16: (buf, at, n, out) => {
    const dst = new Int32Array(out.buffer, out.byteOffset, n)
    if (at % 4 === 0 && n % 2 === 0) {
      const src = new Int32Array(buf, at, n / 2)
      for (let k = 0, j = 0; k < n / 2; k++, j += 2) {
        const w = src[k] // little-endian: element j in the low half, j + 1 in the high half
        dst[j] = w << 16
        dst[j + 1] = w & -65536
      }
    } else {
      const src = new Uint16Array(buf, at, n)
      for (let i = 0; i < n; i++) dst[i] = src[i] << 16
    }
  },
  F16: (buf, at, n, out) => {
    const src = new Uint16Array(buf, at, n)
    for (let i = 0; i < n; i++) out[i] = halfToFloat(src[i])
  },
  I8: copyFrom(Int8Array),
  U8: copyFrom(Uint8Array),
  I32: copyFrom(Int32Array),
  I64: (buf, at, n, out) => {
    const src = new BigInt64Array(buf, at, n)
    for (let i = 0; i < n; i++) out[i] = Number(src[i])
  },
}

function widen(
  dtype: SafetensorsDtype,
  buf: ArrayBufferLike,
  at: number,
  n: number,
  out: Float32Array,
) {
  WIDEN[dtype](buf, at, n, out)
}
