// Runtime tensors: a dtype, a static shape and a flat row-major typed array.
//
// Storage per dtype (one row each in STORAGE). fp16 tensors are held as Float32Array whose values
// are all exactly representable in fp16: kernels read them without decoding, and every op that
// produces fp16 rounds its output (see round.ts). Use `fromHalfBits`/`toHalfBits` at boundaries
// that want raw fp16 bit patterns. bool is 0/1 in a Uint8Array; strings only occur as op
// parameters (gelu mode, cast dtype).
import { floatsToHalfs, halfsToFloats } from '../util/fp16.js'
import { UsageError } from '../util/errors.js'
import type { DType } from '../mil/types.js'

export type NumericData =
  Float32Array | Int32Array | Int16Array | Uint16Array | Int8Array | Uint8Array
export type TensorData = NumericData | string[]

/** The element types a runtime tensor may have. */
export type RuntimeDType =
  'fp16' | 'fp32' | 'int32' | 'int16' | 'uint16' | 'int8' | 'uint8' | 'bool' | 'string'

export interface Tensor {
  readonly dtype: RuntimeDType
  /** Row-major; `[]` is a scalar (one element). */
  readonly shape: readonly number[]
  readonly data: TensorData
}

/** A tensor whose data is numeric (every dtype but string). */
export interface NumericTensor extends Tensor {
  readonly data: NumericData
}

type Ctor = new (n: number) => NumericData
const STORAGE: Record<Exclude<RuntimeDType, 'string'>, Ctor> = {
  fp16: Float32Array,
  fp32: Float32Array,
  int32: Int32Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
}

export const isRuntimeDType = (d: string): d is RuntimeDType => d === 'string' || d in STORAGE

/** The runtime dtype of a MIL dtype, or a UsageError naming `what` for types we do not execute. */
export function runtimeDType(d: DType, what: string): RuntimeDType {
  if (!isRuntimeDType(d)) throw new UsageError(`${what}: dtype ${d} is not supported at run time`)
  return d
}

export const isFloatDType = (d: RuntimeDType): boolean => d === 'fp16' || d === 'fp32'

export function numel(shape: readonly number[]): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** Row-major strides in elements. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length)
  let acc = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc
    acc *= shape[i]
  }
  return s
}

/** A zero-filled array in the storage form of `dtype`. */
export function allocData(dtype: RuntimeDType, n: number): TensorData {
  if (dtype === 'string') return new Array<string>(n).fill('')
  return new STORAGE[dtype](n)
}

/** The typed-array constructor of a numeric dtype (pools key buffers by it). */
export const storageOf = (dtype: Exclude<RuntimeDType, 'string'>): Ctor => STORAGE[dtype]

/**
 * Makes a tensor, checking that the data has the storage form and length the shape asks for.
 * fp16 data may be given as raw bits (Uint16Array): it is decoded to Float32Array.
 * @example
 * const ids = makeTensor('int32', [1, 3], Int32Array.of(1, 5, 9))
 */
export function makeTensor(
  dtype: RuntimeDType,
  shape: readonly number[],
  data?: TensorData | readonly number[],
): Tensor {
  const n = numel(shape)
  if (shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new UsageError(`tensor shape [${shape.join(', ')}] must be non-negative integers`)
  if (data === undefined) return { dtype, shape: [...shape], data: allocData(dtype, n) }
  let d: TensorData
  if (dtype === 'fp16' && data instanceof Uint16Array) d = halfsToFloats(data)
  else if (dtype === 'string') {
    if (!Array.isArray(data)) throw new UsageError('string tensors take a string[]')
    d = data as string[]
  } else if (Array.isArray(data)) {
    const a = new STORAGE[dtype](data.length)
    for (let i = 0; i < data.length; i++) a[i] = Number(data[i])
    d = a
  } else {
    if (!(data instanceof STORAGE[dtype]))
      throw new UsageError(
        `${dtype} tensor data must be ${STORAGE[dtype].name}, got ${data.constructor.name}`,
      )
    d = data as TensorData
  }
  if (d.length !== n)
    throw new UsageError(`tensor [${shape.join(', ')}] needs ${n} elements, data has ${d.length}`)
  return { dtype, shape: [...shape], data: d }
}

/** An fp16 tensor from raw half bit patterns. */
export const fromHalfBits = (shape: readonly number[], bits: Uint16Array): Tensor =>
  makeTensor('fp16', shape, halfsToFloats(bits))

/** The raw fp16 bit patterns of a float tensor (fp32 values are rounded to nearest even). */
export function toHalfBits(t: Tensor): Uint16Array {
  if (!isFloatDType(t.dtype))
    throw new UsageError(`toHalfBits needs a float tensor, got ${t.dtype}`)
  return floatsToHalfs(t.data as Float32Array)
}

/** A deep copy (shape and data). */
export function cloneTensor(t: Tensor): Tensor {
  return { dtype: t.dtype, shape: [...t.shape], data: t.data.slice() as TensorData }
}

/** Element values as plain numbers (bool as 0/1); throws for strings. */
export function toNumberArray(t: Tensor): number[] {
  if (t.dtype === 'string') throw new UsageError('string tensor has no numeric value')
  return Array.from(t.data as NumericData)
}

export const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`

/** The identity reference counts and tapes use: the ArrayBuffer under a typed array (views share it). */
export const bufferOf = (t: Tensor): object =>
  Array.isArray(t.data) ? t.data : (t.data as NumericData).buffer
