// Evaluates constants: `const` values and the constexpr ops that decompress weights when a model
// loads (LUT palettization, block-wise scales, affine int8, sparsity). The result is the dense
// tensor CoreML would see, as float32 values (fp16 results are rounded to fp16 first).
import { bf16ToFloat, halfToFloat, roundToHalf } from '../util/fp16.js'
import { MilTypeError } from './op-spec.js'
import { tensorTypeOf, type Var } from './program.js'
import { isStatic, numel, shapeToString, type Dim, type DType } from './types.js'
import { materialize, PackedBits, toNumbers, type ArrayData } from './value.js'

export interface DenseTensor {
  readonly dtype: DType
  readonly shape: readonly number[]
  readonly values: Float32Array
}

/** Element i of stored data as a number (fp16/bf16 decoded). */
function reader(d: ArrayData, dtype: DType): (i: number) => number {
  if (d instanceof PackedBits) return (i) => d.get(i)
  if (Array.isArray(d)) throw new MilTypeError('string constants have no numeric value')
  if (dtype === 'fp16') {
    const h = d as Uint16Array
    return (i) => halfToFloat(h[i])
  }
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return (i) => Number(d[i])
  if (dtype === 'bf16') {
    const b = d as Uint16Array
    return (i) => bf16ToFloat(b[i])
  }
  const a = d as Exclude<ArrayData, PackedBits | string[] | BigInt64Array | BigUint64Array>
  return (i) => a[i]
}

const strides = (shape: readonly number[]) => {
  const s = new Array<number>(shape.length).fill(1)
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1]
  return s
}

function staticShape(v: Var): number[] {
  const s = tensorTypeOf(v).shape
  if (!isStatic(s))
    throw new MilTypeError(`constant '${v.name}' has unknown dims ${shapeToString(s)}`)
  return [...s]
}

const finish = (dtype: DType, shape: number[], values: Float32Array): DenseTensor => {
  if (dtype === 'fp16') for (let i = 0; i < values.length; i++) values[i] = roundToHalf(values[i])
  return { dtype, shape, values }
}

/** Maps each output index to the block index of a tensor whose dims divide the output's. */
function blockIndexer(out: readonly number[], block: readonly Dim[]) {
  const bs = block.map(Number)
  const per = out.map((d, i) => d / bs[i])
  const os = strides(out)
  const ss = strides(bs)
  return (flat: number) => {
    let idx = 0
    for (let k = 0; k < out.length; k++) {
      const coord = Math.floor(flat / os[k]) % out[k]
      idx += Math.floor(coord / per[k]) * ss[k]
    }
    return idx
  }
}

type Folder = (args: Record<string, Var>, out: Var) => DenseTensor

const FOLDERS: Record<string, Folder> = {
  constexpr_lut_to_dense(a, out) {
    const shape = staticShape(out)
    const lutShape = staticShape(a.lut)
    const lut = dense(a.lut).values
    if (a.shape) {
      // iOS16: per-tensor LUT over a packed uint8 index stream.
      const entries = lutShape[0]
      const bits = Math.log2(entries)
      const bytes = materialize(a.indices.constValue!) as Uint8Array
      const idx = new PackedBits(bytes, bits, numel(shape))
      const values = new Float32Array(numel(shape))
      for (let i = 0; i < values.length; i++) values[i] = lut[idx.get(i)]
      return finish(tensorTypeOf(out).dtype, shape, values)
    }
    const idxShape = staticShape(a.indices)
    const r = idxShape.length
    const entries = lutShape[r]
    const vec = lutShape[r + 1]
    const getIdx = reader(
      materialize(a.indices.constValue ?? fail(a.indices)),
      tensorTypeOf(a.indices).dtype,
    )
    const group = blockIndexer(idxShape, lutShape.slice(0, r))
    const n = numel(idxShape)
    const values = new Float32Array(n * vec)
    if (vec === 1) {
      for (let i = 0; i < n; i++) values[i] = lut[group(i) * entries + getIdx(i)]
    } else {
      const axis = ((toNumbers(a.vector_axis.constValue!)[0] % r) + r) % r
      const os = strides(shape)
      const is = strides(idxShape)
      for (let i = 0; i < n; i++) {
        const base = (group(i) * entries + getIdx(i)) * vec
        let o = 0
        for (let k = 0; k < r; k++) {
          const c = Math.floor(i / is[k]) % idxShape[k]
          o += (k === axis ? c * vec : c) * os[k]
        }
        for (let j = 0; j < vec; j++) values[o + j * os[axis]] = lut[base + j]
      }
    }
    return finish(tensorTypeOf(out).dtype, shape, values)
  },
  constexpr_blockwise_shift_scale(a, out) {
    const shape = staticShape(out)
    const data = dense(a.data).values
    const scale = dense(a.scale).values
    const offset = a.offset ? dense(a.offset).values : undefined
    const blk = blockIndexer(shape, staticShape(a.scale))
    const half = tensorTypeOf(out).dtype === 'fp16'
    const values = new Float32Array(data.length)
    for (let i = 0; i < data.length; i++) {
      const b = blk(i)
      let d = offset ? data[i] - offset[b] : data[i]
      if (half) d = roundToHalf(d)
      values[i] = d * scale[b]
    }
    return finish(tensorTypeOf(out).dtype, shape, values)
  },
  constexpr_affine_dequantize(a, out) {
    const shape = staticShape(out)
    const q = dense(a.quantized_data).values
    const scale = dense(a.scale).values
    const zp = dense(a.zero_point).values
    const axis = toNumbers(a.axis.constValue!)[0]
    const ax = axis < 0 ? axis + shape.length : axis
    const st = strides(shape)[ax]
    const values = new Float32Array(q.length)
    for (let i = 0; i < q.length; i++) {
      const c = Math.floor(i / st) % shape[ax]
      values[i] =
        (scale.length > 1 ? scale[c] : scale[0]) * (q[i] - (zp.length > 1 ? zp[c] : zp[0]))
    }
    return finish(tensorTypeOf(out).dtype, shape, values)
  },
  constexpr_sparse_to_dense(a, out) {
    const shape = staticShape(out)
    const n = numel(shape)
    const nz = dense(a.nonzero_data).values
    const m = materialize(a.mask.constValue!)
    const mask = m instanceof PackedBits ? m : new PackedBits(m as Uint8Array, 1, n)
    const values = new Float32Array(n)
    for (let i = 0, k = 0; i < n; i++) if (mask.get(i)) values[i] = nz[k++]
    return finish(tensorTypeOf(out).dtype, shape, values)
  },
  constexpr_cast(a, out) {
    const src = dense(a.source_val)
    return { dtype: tensorTypeOf(out).dtype, shape: [...src.shape], values: src.values }
  },
}

function fail(v: Var): never {
  throw new MilTypeError(`'${v.name}' is not a constant`)
}

/** True when `v` can be folded to a dense constant. */
export function isFoldable(v: Var): boolean {
  const t = v.producer?.type
  return t === 'const' || (t !== undefined && t in FOLDERS)
}

/**
 * The dense value of a constant var: a `const`, or a constexpr op applied to constants.
 * @throws MilTypeError if the var is computed at run time
 */
export function dense(v: Var): DenseTensor {
  const op = v.producer ?? fail(v)
  if (op.type === 'const') {
    const t = tensorTypeOf(v)
    const shape = staticShape(v)
    const get = reader(materialize(op.value!), t.dtype)
    const values = new Float32Array(numel(shape))
    for (let i = 0; i < values.length; i++) values[i] = get(i)
    return { dtype: t.dtype, shape, values }
  }
  const folder = FOLDERS[op.type] ?? fail(v)
  const args = Object.fromEntries(
    Object.entries(op.inputs).map(([k, x]) => [k, Array.isArray(x) ? x[0] : x]),
  ) as Record<string, Var>
  return folder(args, v)
}
