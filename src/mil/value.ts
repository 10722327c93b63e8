// Constant tensor data. Storage per dtype (one row each in STORAGE): fp16/bf16 as bit patterns in
// Uint16Array, sub-byte types bit-packed LSB-first exactly as in weight.bin (so multi-GB LUT indices
// never expand 8x in memory), bool as 0/1 bytes, strings as string[].
import { ProgramError } from '../util/errors.js'
import { bf16ToFloat, halfToFloat } from '../util/fp16.js'
import { DTYPES, numel, type DType, type TensorType } from './types.js'

/** Sub-byte elements packed into a continuous little-endian bit stream (format doc §4.4). */
export class PackedBits {
  constructor(
    readonly bytes: Uint8Array,
    readonly bits: number,
    readonly length: number,
    readonly signed = false,
  ) {}

  get(i: number): number {
    const p = i * this.bits
    const byte = p >> 3
    const shift = p & 7
    let v = this.bytes[byte] >> shift
    if (shift + this.bits > 8) v |= this.bytes[byte + 1] << (8 - shift)
    v &= (1 << this.bits) - 1
    return this.signed && v >= 1 << (this.bits - 1) ? v - (1 << this.bits) : v
  }

  static pack(values: ArrayLike<number>, bits: number, signed = false): PackedBits {
    const bytes = new Uint8Array(Math.ceil((values.length * bits) / 8))
    const mask = (1 << bits) - 1
    for (let i = 0; i < values.length; i++) {
      const v = values[i] & mask
      const p = i * bits
      const byte = p >> 3
      const shift = p & 7
      bytes[byte] |= (v << shift) & 0xff
      if (shift + bits > 8) bytes[byte + 1] |= v >> (8 - shift)
    }
    return new PackedBits(bytes, bits, values.length, signed)
  }
}

export type ArrayData =
  | Float32Array
  | Float64Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | PackedBits
  | string[]

/** Data that is read only when needed (weights of a loaded package, tensors of a checkpoint). */
export interface LazyData {
  readonly lazy: true
  /** Identifies the bytes (e.g. `file@offset`): equal keys mean equal data, so writers can share blobs. */
  readonly key?: string
  /** Where the data sits in a weight file, when it was read from one (printers show BLOBFILE). */
  readonly blob?: { readonly path: string; readonly offset: number }
  load(): ArrayData
  /**
   * The same data in row-major pieces, for tensors too large to hold whole: writers stream these
   * instead of calling load(). Sub-byte data must come in whole bytes.
   */
  chunks?(): Iterable<ArrayData>
}

export interface TensorValue {
  readonly type: TensorType
  readonly data: ArrayData | LazyData
}

export const isLazy = (d: ArrayData | LazyData): d is LazyData =>
  !Array.isArray(d) && (d as LazyData).lazy === true

export function materialize(v: TensorValue): ArrayData {
  return isLazy(v.data) ? v.data.load() : v.data
}

type Ctor = (n: number) => ArrayData
const STORAGE: Record<DType, Ctor> = {
  bool: (n) => new Uint8Array(n),
  string: (n) => new Array<string>(n).fill(''),
  fp16: (n) => new Uint16Array(n),
  bf16: (n) => new Uint16Array(n),
  fp32: (n) => new Float32Array(n),
  fp64: (n) => new Float64Array(n),
  int4: (n) => new PackedBits(new Uint8Array(Math.ceil(n / 2)), 4, n, true),
  int8: (n) => new Int8Array(n),
  int16: (n) => new Int16Array(n),
  int32: (n) => new Int32Array(n),
  int64: (n) => new BigInt64Array(n),
  uint1: (n) => new PackedBits(new Uint8Array(Math.ceil(n / 8)), 1, n),
  uint2: (n) => new PackedBits(new Uint8Array(Math.ceil(n / 4)), 2, n),
  uint3: (n) => new PackedBits(new Uint8Array(Math.ceil((n * 3) / 8)), 3, n),
  uint4: (n) => new PackedBits(new Uint8Array(Math.ceil(n / 2)), 4, n),
  uint6: (n) => new PackedBits(new Uint8Array(Math.ceil((n * 6) / 8)), 6, n),
  uint8: (n) => new Uint8Array(n),
  uint16: (n) => new Uint16Array(n),
  uint32: (n) => new Uint32Array(n),
  uint64: (n) => new BigUint64Array(n),
}

/** A zero-filled array in the storage form of `dtype`. */
export function allocate(dtype: DType, n: number): ArrayData {
  return STORAGE[dtype](n)
}

export function dataLength(d: ArrayData): number {
  return d instanceof PackedBits ? d.length : d.length
}

/** Checks that data has the storage form and element count the type asks for. */
export function checkData(type: TensorType, data: ArrayData): string | undefined {
  const want = STORAGE[type.dtype](0)
  const n = numel(type.shape)
  if (Array.isArray(want) !== Array.isArray(data)) return `expected ${type.dtype} data`
  if (want instanceof PackedBits) {
    if (!(data instanceof PackedBits) || data.bits !== want.bits)
      return `expected ${type.dtype} data packed at ${want.bits} bits`
  } else if (!Array.isArray(want) && want.constructor !== data.constructor) {
    return `expected ${want.constructor.name} for ${type.dtype}, got ${data.constructor.name}`
  }
  if (dataLength(data) !== n) return `has ${dataLength(data)} elements, shape needs ${n}`
  return undefined
}

/** Element i as a JS number (fp16/bf16 as raw bits; callers that want floats use toNumbers). */
function rawAt(d: ArrayData, i: number): number | bigint | string {
  return d instanceof PackedBits ? d.get(i) : (d[i] as number | bigint | string)
}

/** Small constant values as plain numbers (fp16/bf16 decoded), e.g. for shape inference. */
export function toNumbers(v: TensorValue): number[] {
  const d = materialize(v)
  const n = dataLength(d)
  const out = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const x = rawAt(d, i)
    if (typeof x === 'string') throw new ProgramError('string tensor has no numeric value')
    const dt = v.type.dtype
    out[i] =
      dt === 'fp16' ? halfToFloat(Number(x)) : dt === 'bf16' ? bf16ToFloat(Number(x)) : Number(x)
  }
  return out
}

export const bitsOf = (dtype: DType): number => DTYPES[dtype].bits
