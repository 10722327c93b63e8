// GGUF reader (llama.cpp's single-file model format), versions 2 and 3, little-endian only.
//
//   magic      "GGUF" (4 bytes)
//   version    u32 (2 or 3; version 1 used u32 counts and is not read)
//   n_tensors  u64
//   n_kv       u64
//   kv[n_kv]   key: string, type: u32 (GgufValueType), value
//                string = u64 byte length + UTF-8 bytes (no terminator)
//                array  = u32 element type + u64 count + elements (arrays may nest)
//   info[n_tensors]  name: string, n_dims: u32 (<= 4), dims: u64[n_dims] (ne[0], the contiguous
//                    dimension, first), type: u32 (GGML type), offset: u64 (from the data section)
//   padding to `general.alignment` (default 32)
//   data       tensor bytes; each tensor starts at dataOffset + offset, offsets are aligned
//
// Only the header is read up front; tensor bytes are read one tensor at a time on demand.
// Every count and length is checked against the bytes left in the file before anything is
// allocated, so a lying header cannot cause a huge allocation.

import { closeSync, fstatSync } from 'node:fs'
import { FormatError } from '../util/errors.js'
import { DEQUANT_TYPE_NAMES, GGML_TYPES } from './gguf-quants.js'
import { FileCursor as Cursor } from './file-cursor.js'
import { checkRows, floatsFor, openForRead, readRange, withFile } from './read-range.js'

export const GGUF_MAGIC = 0x46554747 // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32
const MAX_DIMS = 4
const MAX_ARRAY_NESTING = 8
// Real arrays are vocabularies and merge lists (a few hundred thousand entries). The cap keeps a
// lying count in a multi-GB file from building a multi-GB JS array.
const MAX_ARRAY_LENGTH = 1 << 24

/** Metadata value types, as stored in the file. */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType]

/**
 * A metadata value. Integers and floats are numbers, except 64-bit integers beyond 2^53, which
 * are bigints. A FLOAT32 is given as the shortest decimal that rounds to the stored float32
 * (1e-5, not 9.999999747378752e-6), so Math.fround recovers it exactly. Arrays are plain JS
 * arrays (of strings, numbers, booleans or nested arrays).
 */
export type GgufValue = number | bigint | boolean | string | GgufValue[]

/** The stored type of a metadata value; `elementType` is set for arrays. */
export interface GgufValueInfo {
  type: GgufValueType
  elementType?: GgufValueType
}

/** One tensor's header entry, with its byte range resolved and checked against the file. */
export interface GgufTensorInfo {
  name: string
  /** GGUF order: dims[0] is the contiguous dimension (ggml `ne[0]`). */
  dims: number[]
  /** Row-major shape (dims reversed), as numpy and Hugging Face write it. */
  shape: number[]
  /** GGML type id (see `GGML_TYPES`). */
  type: number
  typeName: string
  elements: number
  /** Offset relative to `dataOffset`, as stored. */
  offset: number
  /** Absolute offset of the first byte in the file. */
  fileOffset: number
  byteLength: number
}

/** A parsed GGUF header. */
export interface GgufFile {
  path: string
  version: number
  fileSize: number
  alignment: number
  /** Absolute offset of the data section. */
  dataOffset: number
  /** Key → value, in file order. Tokenizer keys (`tokenizer.ggml.*`) are included. */
  metadata: Map<string, GgufValue>
  /** Key → stored type, for callers that care (goldens, round trips). */
  metadataTypes: Map<string, GgufValueInfo>
  tensors: GgufTensorInfo[]
}

// Smallest encoding of each value type, used to bound counts by the bytes left.
const MIN_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1 }
Object.assign(MIN_SIZE, { 8: 8, 9: 12, 10: 8, 11: 8, 12: 8 })

const READ_SCALAR: Record<number, (c: Cursor, what: string) => GgufValue> = {
  [GgufValueType.UINT8]: (c, w) => c.u8(w),
  [GgufValueType.INT8]: (c, w) => c.i8(w),
  [GgufValueType.UINT16]: (c, w) => c.u16(w),
  [GgufValueType.INT16]: (c, w) => c.i16(w),
  [GgufValueType.UINT32]: (c, w) => c.u32(w),
  [GgufValueType.INT32]: (c, w) => c.i32(w),
  [GgufValueType.FLOAT32]: (c, w) => shortestF32(c.f32(w)),
  [GgufValueType.BOOL]: (c, w) => readBool(c, w),
  [GgufValueType.STRING]: (c, w) => c.str(w),
  [GgufValueType.UINT64]: (c, w) => c.u64(w),
  [GgufValueType.INT64]: (c, w) => c.i64(w),
  [GgufValueType.FLOAT64]: (c, w) => c.f64(w),
}

/** The shortest decimal that rounds to the same float32: 1e-5, not 9.999999747378752e-6. */
function shortestF32(x: number): number {
  if (!Number.isFinite(x)) return x
  for (let p = 1; p < 9; p++) {
    const v = Number(x.toPrecision(p))
    if (Math.fround(v) === x) return v
  }
  return x
}

function readBool(c: Cursor, what: string): boolean {
  const b = c.u8(what)
  if (b > 1) c.fail(`${what}: bool byte is ${b}, expected 0 or 1`)
  return b === 1
}

function readValue(c: Cursor, type: number, key: string, depth: number): GgufValue {
  if (type === GgufValueType.ARRAY)
    return readArray(c, c.u32(`key '${key}' array type`), key, depth)
  const read = READ_SCALAR[type]
  if (!read) c.fail(`key '${key}': unknown value type ${type}`)
  return read(c, `key '${key}' value`)
}

/** An array's body (after its element type): u64 count, then the elements. */
function readArray(c: Cursor, elem: number, key: string, depth: number): GgufValue[] {
  if (depth >= MAX_ARRAY_NESTING)
    c.fail(`key '${key}': arrays nested deeper than ${MAX_ARRAY_NESTING}`)
  if (MIN_SIZE[elem] === undefined) c.fail(`key '${key}': unknown array element type ${elem}`)
  const n = c.count(`key '${key}' array length`)
  if (n > MAX_ARRAY_LENGTH)
    c.fail(`key '${key}': array of ${n} elements exceeds the limit of ${MAX_ARRAY_LENGTH}`)
  c.fits(n, MIN_SIZE[elem], `key '${key}' array`)
  const out = new Array<GgufValue>(n)
  for (let i = 0; i < n; i++) out[i] = readValue(c, elem, key, depth + 1)
  return out
}

function readHeader(c: Cursor): { version: number; nTensors: number; nKv: number } {
  if (c.size < 24) c.fail(`truncated: ${c.size} bytes is too short for a GGUF header`)
  const magic = c.u32('magic')
  if (magic !== GGUF_MAGIC) c.fail('not a GGUF file (bad magic)')
  const version = c.u32('version')
  // A big-endian file has its version bytes swapped: 3 reads as 0x03000000.
  if ((version & 0xffff) === 0 && version !== 0) {
    c.fail(
      `big-endian GGUF (version ${version >>> 24}) is not supported; convert it to little-endian`,
    )
  }
  if (version !== 2 && version !== 3)
    c.fail(`GGUF version ${version} is not supported (2 and 3 are)`)
  const nTensors = c.count('tensor count')
  const nKv = c.count('metadata count')
  return { version, nTensors, nKv }
}

function readTensorInfo(c: Cursor): Omit<GgufTensorInfo, 'fileOffset'> {
  const name = c.str('tensor name')
  const nDims = c.u32(`tensor '${name}' n_dims`)
  if (nDims < 1 || nDims > MAX_DIMS) c.fail(`tensor '${name}' has ${nDims} dims (1..${MAX_DIMS})`)
  const dims: number[] = []
  for (let i = 0; i < nDims; i++) {
    const d = c.count(`tensor '${name}' dim`)
    if (d < 1) c.fail(`tensor '${name}' has dim ${i} = ${d}`)
    dims.push(d)
  }
  const type = c.u32(`tensor '${name}' type`)
  const offset = c.count(`tensor '${name}' offset`)
  const t = GGML_TYPES.get(type)
  if (!t) {
    c.fail(
      `tensor '${name}' has unknown GGML type ${type} (readable: ${DEQUANT_TYPE_NAMES.join(', ')})`,
    )
  }
  const elements = dims.reduce((a, b) => a * b, 1)
  if (!Number.isSafeInteger(elements)) c.fail(`tensor '${name}' is too large`)
  if (dims[0] % t.blockSize !== 0) {
    c.fail(
      `tensor '${name}': row length ${dims[0]} is not a multiple of ${t.name}'s block of ${t.blockSize}`,
    )
  }
  const byteLength = (elements / t.blockSize) * t.typeSize
  const shape = [...dims].reverse()
  return { name, dims, shape, type, typeName: t.name, elements, offset, byteLength }
}

/** Checks alignment, bounds and overlap of every tensor's bytes; fills in `fileOffset`. */
function placeTensors(
  c: Cursor,
  infos: Omit<GgufTensorInfo, 'fileOffset'>[],
  dataOffset: number,
  alignment: number,
): GgufTensorInfo[] {
  const out = infos.map((t) => ({ ...t, fileOffset: dataOffset + t.offset }))
  for (const t of out) {
    if (t.offset % alignment !== 0)
      c.fail(`tensor '${t.name}' offset ${t.offset} is not ${alignment}-aligned`)
    if (t.fileOffset + t.byteLength > c.size) {
      c.fail(
        `tensor '${t.name}' (${t.byteLength} bytes at ${t.fileOffset}) runs past the end of the file (${c.size} bytes); truncated?`,
      )
    }
  }
  const sorted = [...out].sort((a, b) => a.offset - b.offset)
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]
    if (sorted[i].offset < prev.offset + prev.byteLength) {
      c.fail(`tensors '${prev.name}' and '${sorted[i].name}' overlap`)
    }
  }
  return out
}

/**
 * Reads a GGUF file's header: metadata and tensor infos, validated. Tensor bytes are not read.
 * Throws FormatError (naming the file) on anything malformed or unsupported.
 * @example const g = readGguf('model.gguf'); g.metadata.get('general.architecture') // 'llama'
 */
export function readGguf(path: string): GgufFile {
  const fd = openForRead(path)
  try {
    const c = new Cursor(path, fd, fstatSync(fd).size)
    const { version, nTensors, nKv } = readHeader(c)
    c.fits(nKv, 8 + 4 + 1, 'metadata')
    const metadata = new Map<string, GgufValue>()
    const metadataTypes = new Map<string, GgufValueInfo>()
    for (let i = 0; i < nKv; i++) {
      const key = c.str('metadata key')
      if (metadata.has(key)) c.fail(`duplicate metadata key '${key}'`)
      const type = c.u32(`key '${key}' type`) as GgufValueType
      if (type === GgufValueType.ARRAY) {
        const elementType = c.u32(`key '${key}' array type`) as GgufValueType
        metadata.set(key, readArray(c, elementType, key, 0))
        metadataTypes.set(key, { type, elementType })
      } else {
        metadata.set(key, readValue(c, type, key, 0))
        metadataTypes.set(key, { type })
      }
    }
    c.fits(nTensors, 8 + 4 + 8 + 4 + 8, 'tensor')
    const infos: Omit<GgufTensorInfo, 'fileOffset'>[] = []
    const names = new Set<string>()
    for (let i = 0; i < nTensors; i++) {
      const t = readTensorInfo(c)
      if (names.has(t.name)) c.fail(`duplicate tensor name '${t.name}'`)
      names.add(t.name)
      infos.push(t)
    }
    const alignment = readAlignment(c, metadata, metadataTypes)
    const dataOffset = Math.ceil(c.pos / alignment) * alignment
    if (nTensors > 0 && dataOffset > c.size) c.fail('truncated: data section is missing')
    const tensors = placeTensors(c, infos, dataOffset, alignment)
    return {
      path,
      version,
      fileSize: c.size,
      alignment,
      dataOffset,
      metadata,
      metadataTypes,
      tensors,
    }
  } finally {
    closeSync(fd)
  }
}

function readAlignment(
  c: Cursor,
  meta: Map<string, GgufValue>,
  types: Map<string, GgufValueInfo>,
): number {
  const v = meta.get('general.alignment')
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT
  const ok = types.get('general.alignment')?.type === GgufValueType.UINT32
  if (!ok || typeof v !== 'number' || v < 1 || (v & (v - 1)) !== 0) {
    c.fail(`general.alignment must be a u32 power of two, got ${String(v)}`)
  }
  return v
}

/** Reads one tensor's raw bytes (exactly `info.byteLength`, from `info.fileOffset`). */
export function readGgufTensorBytes(file: GgufFile, info: GgufTensorInfo): Uint8Array {
  return withFile(file.path, (fd) => readRange(file.path, fd, info.fileOffset, info.byteLength))
}

/**
 * Rows [start, end) of axis 0 of a tensor, dequantized, reading only their bytes. Rows must hold
 * whole blocks (true of every real weight matrix).
 */
export function readGgufRows(
  file: GgufFile,
  info: GgufTensorInfo,
  start: number,
  end: number,
): Float32Array {
  const t = GGML_TYPES.get(info.type)
  const rows = info.shape[0]
  const cols = info.elements / rows
  if (!t?.dequant) return readGgufTensor(file, info)
  checkRows(file.path, info.name, start, end, rows)
  if (cols % t.blockSize !== 0) return readGgufTensor(file, info).slice(start * cols, end * cols)
  const rowBytes = (cols / t.blockSize) * t.typeSize
  const bytes = withFile(file.path, (fd) =>
    readRange(file.path, fd, info.fileOffset + start * rowBytes, (end - start) * rowBytes),
  )
  const dst = new Float32Array((end - start) * cols)
  t.dequant(bytes, dst)
  return dst
}

/**
 * Reads one tensor and dequantizes it to float32, in GGUF element order (row-major over
 * `info.shape`), into a new array or the start of `out` (a reusable buffer; a view of exactly
 * the tensor is returned). Unsupported types throw FormatError listing the supported ones.
 */
export function readGgufTensor(
  file: GgufFile,
  info: GgufTensorInfo,
  out?: Float32Array,
): Float32Array {
  const t = GGML_TYPES.get(info.type)
  if (!t?.dequant) {
    throw new FormatError(
      file.path,
      `tensor '${info.name}' has type ${info.typeName}, which cannot be dequantized (supported: ${DEQUANT_TYPE_NAMES.join(', ')})`,
    )
  }
  const dst = floatsFor(info.elements, out, `tensor '${info.name}'`)
  t.dequant(readGgufTensorBytes(file, info), dst)
  return dst
}
