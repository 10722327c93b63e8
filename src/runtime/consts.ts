// Constants at load time: `const` values and constexpr ops (LUT, block scales, sparsity) become
// runtime tensors once. Weight blobs are keyed by file and offset, so functions of one model that
// share a weight (infer/prefill) also share its dequantized tensor.
import { dense } from '../mil/fold.js'
import { isConstexprType } from '../mil/ops/index.js'
import { tensorTypeOf, type Var } from '../mil/program.js'
import { isStatic } from '../mil/types.js'
import { isLazy, materialize, PackedBits, type ArrayData } from '../mil/value.js'
import { halfsToFloats } from '../util/fp16.js'
import { UsageError } from '../util/errors.js'
import { HALF_WEIGHT_MIN, HalfWeight } from './half.js'
import { LutWeight } from './lut.js'
import { roundHalfInPlace } from './round.js'
import type { RuntimeDType, Tensor, TensorData } from './tensor.js'

/** Shared across the functions of one model: blob key → tensor. */
export type ConstCache = Map<string, Tensor>

/** MIL constant dtypes that run as another runtime dtype (only ever parameters or indices). */
const WIDEN: Record<string, RuntimeDType> = {
  int64: 'int32',
  uint32: 'int32',
  uint64: 'int32',
  fp64: 'fp32',
}

function fromArrayData(d: ArrayData, dtype: string, name: string): [RuntimeDType, TensorData] {
  if (Array.isArray(d)) return ['string', d]
  if (d instanceof PackedBits || dtype === 'bf16')
    throw new UsageError(`constant '${name}' (${dtype}) can only feed constexpr ops`)
  if (dtype === 'fp16') return ['fp16', halfsToFloats(d as Uint16Array)]
  const wide = WIDEN[dtype]
  if (wide === 'int32') return ['int32', Int32Array.from(d as ArrayLike<number | bigint>, Number)]
  if (wide === 'fp32') return ['fp32', Float32Array.from(d as Float64Array)]
  return [dtype as RuntimeDType, d as TensorData]
}

/** A stable identity for a constant's bytes, when it has one (blob-stored data). */
function keyOf(v: Var): string | undefined {
  const op = v.producer
  if (!op) return undefined
  if (op.type === 'const') {
    const d = op.value?.data
    return d && isLazy(d) ? d.key : undefined
  }
  const parts: string[] = []
  for (const [p, x] of Object.entries(op.inputs)) {
    const k = Array.isArray(x) ? undefined : keyOf(x as Var)
    parts.push(`${p}=${k ?? `#${(x as Var).name}`}`)
  }
  // inline parameters are part of the op, so the var name and type disambiguate them
  return parts.some((s) => s.includes('@')) ? `${op.type}(${parts.join(',')})${v.name}` : undefined
}

/**
 * An iOS18 constexpr_lut_to_dense (scalar LUT entries, fp16/fp32 tables read from `const`s) as a
 * LutWeight that stays compressed; undefined for every other form (those are decoded densely).
 */
function lutWeight(v: Var, fp16: boolean): LutWeight | undefined {
  const op = v.producer!
  if (op.type !== 'constexpr_lut_to_dense' || op.inputs.shape || op.inputs.vector_axis) return
  const idx = op.inputs.indices as Var
  const lut = op.inputs.lut as Var
  if (idx.producer?.type !== 'const' || lut.producer?.type !== 'const') return
  const lt = tensorTypeOf(lut)
  const out = tensorTypeOf(v)
  if (!isStatic(lt.shape) || !isStatic(out.shape) || lt.shape.at(-1) !== 1) return
  if (
    (lt.dtype !== 'fp16' && lt.dtype !== 'fp32') ||
    (out.dtype !== 'fp16' && out.dtype !== 'fp32')
  )
    return
  const indices = materialize(idx.producer.value!)
  if (!(indices instanceof PackedBits) && !(indices instanceof Uint8Array)) return
  const raw = materialize(lut.producer.value!)
  const table =
    lt.dtype === 'fp16' ? halfsToFloats(raw as Uint16Array) : (raw as Float32Array).slice()
  if (fp16 || out.dtype === 'fp16') roundHalfInPlace(table)
  return new LutWeight(out.dtype, out.shape, indices, table, lt.shape)
}

/**
 * The runtime tensor of a constant var (`const` or constexpr output). With `fp16` set (strict
 * fp16 mode) float constants are rounded to fp16 as the Neural Engine would hold them. With
 * `compressed`, palettized weights stay packed (LutWeight).
 */
export function constTensor(v: Var, cache: ConstCache, fp16 = false, compressed = true): Tensor {
  const key = keyOf(v)
  const ck = key && `${key}${fp16 ? ':fp16' : ''}${compressed ? ':lut' : ''}`
  const hit = ck ? cache.get(ck) : undefined
  if (hit) return hit
  const op = v.producer!
  const t = tensorTypeOf(v)
  const packed = compressed ? lutWeight(v, fp16) : undefined
  if (packed) {
    if (ck) cache.set(ck, packed)
    return packed
  }
  let out: Tensor
  const half = compressed ? halfWeight(v) : undefined
  if (half) {
    if (ck) cache.set(ck, half)
    return half
  }
  if (op.type === 'const') {
    const [dtype, data] = fromArrayData(materialize(op.value!), t.dtype, v.name)
    out = { dtype, shape: t.shape as number[], data }
  } else if (isConstexprType(op.type)) {
    const d = dense(v)
    const [dtype, data] = fromArrayData(d.values, 'fp32', v.name)
    const rt = (t.dtype === 'fp16' ? 'fp16' : (WIDEN[t.dtype] ?? t.dtype)) as RuntimeDType
    out = { dtype: rt, shape: d.shape, data: rt === dtype ? data : retype(rt, d.values) }
  } else throw new Error(`internal error: '${v.name}' is not a constant`)
  if (fp16 && (out.dtype === 'fp32' || out.dtype === 'fp16')) {
    const f = (out.data as Float32Array).slice()
    roundHalfInPlace(f)
    out = { ...out, data: f }
  }
  if (ck) cache.set(ck, out)
  return out
}

/** A large fp16 `const` of rank ≥ 2 (a weight) as a HalfWeight that keeps its fp16 bits. */
function halfWeight(v: Var): HalfWeight | undefined {
  const op = v.producer!
  const t = tensorTypeOf(v)
  if (op.type !== 'const' || t.dtype !== 'fp16' || t.shape.length < 2 || !isStatic(t.shape)) return
  const shape = t.shape as number[]
  if (shape.reduce((a, b) => a * b, 1) < HALF_WEIGHT_MIN) return
  const d = materialize(op.value!)
  return d instanceof Uint16Array ? new HalfWeight(shape, d) : undefined
}

function retype(dtype: RuntimeDType, values: Float32Array): TensorData {
  switch (dtype) {
    case 'int8':
      return Int8Array.from(values)
    case 'uint8':
    case 'bool':
      return Uint8Array.from(values)
    case 'int16':
      return Int16Array.from(values)
    case 'uint16':
      return Uint16Array.from(values)
    case 'int32':
      return Int32Array.from(values)
    default:
      return values
  }
}
