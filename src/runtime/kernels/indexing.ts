// Slicing, gathering and top-k (format doc §6.12–§6.14, §6.19, §6.20, §6.28). What a slice
// selects depends on x's shape and the begin/end/stride/mask values only: each step keeps it in
// its memo (slice_update's begin often changes every run, then the memo just recomputes).
import type { Kernel, KernelCall } from '../kernel.js'
import { axisOf } from '../kernel.js'
import { HalfWeight } from '../half.js'
import { halfsToFloats } from '../../util/fp16.js'
import { numel, shapeText, stridesOf, type NumericTensor } from '../tensor.js'
import { coalesce, stridedCopy, stridedScatter, type CopyPlan } from './strided.js'
import { nativeKernels, noteJsWork } from '../native.js'

/** The elements slice_by_index selects: a start offset plus a shape and strides over x. */
interface Selection {
  base: number
  /** Per x axis (squeezed ones included, with size 1). */
  shape: number[]
  strides: number[]
  /** The output shape (squeezed axes removed). */
  outShape: number[]
}

/** One axis of a slice: `count` elements from `start`, `step` apart; squeezed axes take one. */
export interface SliceAxis {
  readonly start: number
  readonly count: number
  readonly step: number
  readonly squeeze: boolean
}

/**
 * Python slicing x[b:e:s] per axis (what coremltools' slice_by_index evaluates to); missing
 * stride or mask entries mean 1 and false. A string says what is wrong.
 */
export function sliceAxes(
  shape: readonly number[],
  begin: readonly number[],
  end: readonly number[],
  stride: readonly number[] | undefined,
  bm: readonly boolean[],
  em: readonly boolean[],
  sm: readonly boolean[],
): SliceAxis[] | string {
  const r = shape.length
  if (begin.length !== r || end.length !== r || (stride && stride.length !== r))
    return `begin/end/stride need ${r} entries for x ${shapeText(shape)}`
  const axes: SliceAxis[] = []
  for (let i = 0; i < r; i++) {
    const len = shape[i]
    const s = stride ? stride[i] : 1
    let start: number
    let count: number
    if (sm[i]) {
      start = bm[i] ? 0 : begin[i] < 0 ? begin[i] + len : begin[i]
      if (start < 0 || start >= len)
        return `squeezed index ${begin[i]} is outside axis ${i} (${len})`
      count = 1
    } else if (s > 0) {
      start = bm[i] ? 0 : clampIndex(begin[i], len, 0, len)
      const stop = em[i] ? len : clampIndex(end[i], len, 0, len)
      count = Math.max(0, Math.ceil((stop - start) / s))
    } else if (s < 0) {
      start = bm[i] ? len - 1 : clampIndex(begin[i], len, -1, len - 1)
      const stop = em[i] ? -1 : clampIndex(end[i], len, -1, len - 1)
      count = Math.max(0, Math.ceil((start - stop) / -s))
    } else return `stride of axis ${i} is 0`
    axes.push({ start, count, step: s, squeeze: !!sm[i] })
  }
  return axes
}

/** slice_by_index's selection over x. */
function select(k: KernelCall, x: NumericTensor): Selection {
  const r = x.shape.length
  const no = new Array<boolean>(r).fill(false)
  const axes = sliceAxes(
    x.shape,
    k.ints('begin'),
    k.ints('end'),
    k.opt('stride') ? k.ints('stride') : undefined,
    k.bools('begin_mask', no),
    k.bools('end_mask', no),
    k.bools('squeeze_mask', no),
  )
  if (typeof axes === 'string') return k.fail(axes)
  const st = stridesOf(x.shape)
  const sel: Selection = { base: 0, shape: [], strides: [], outShape: [] }
  axes.forEach(({ start, count, step, squeeze }, i) => {
    if (count > 0) sel.base += start * st[i]
    sel.shape.push(count)
    sel.strides.push(st[i] * step)
    if (!squeeze) sel.outShape.push(count)
  })
  return sel
}

/** True when every bound lies inside its axis (negatives counting from the end), begin ≤ end. */
function inBounds(shape: readonly number[], begin: readonly number[], end: readonly number[]) {
  return shape.every((len, i) => {
    const b = begin[i] < 0 ? begin[i] + len : begin[i]
    const e = end[i] < 0 ? end[i] + len : end[i]
    return b >= 0 && b <= e && e <= len
  })
}

/** A Python slice bound: negatives count from the end, then clamped to [lo, hi]. */
const clampIndex = (v: number, len: number, lo: number, hi: number) =>
  Math.min(Math.max(v < 0 ? v + len : v, lo), hi)

/** True when the selected elements are one contiguous run of x (row-major). */
function contiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let acc = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== acc) return false
    acc *= shape[i]
  }
  return true
}

/** How to produce a slice: a view of n elements from base when contiguous, else a strided copy. */
interface SlicePlan {
  readonly base: number
  readonly n: number
  readonly outShape: number[]
  readonly contiguous: boolean
  readonly walk: CopyPlan
}

function planSlice(base: number, shape: number[], strides: number[], outShape: number[]) {
  const n = numel(shape)
  const walk = coalesce(shape, strides)
  return { base, n, outShape, contiguous: contiguous(shape, strides), walk }
}

/** A contiguous selection is returned as a view (subarray) of x; others are copied. */
function sliceOut(k: KernelCall, x: NumericTensor, p: SlicePlan) {
  if (p.contiguous)
    return { dtype: x.dtype, shape: p.outShape, data: x.data.subarray(p.base, p.base + p.n) }
  const out = k.alloc(k.outDType(), p.outShape)
  stridedCopy(x.data, p.base, out.data, p.walk.shape, p.walk.src)
  return out
}

/** True when the shapes are equal once their size-1 dims are dropped. */
function sameBeyondOnes(a: readonly number[], b: readonly number[]): boolean {
  let i = 0
  let j = 0
  for (;;) {
    while (i < a.length && a[i] === 1) i++
    while (j < b.length && b[j] === 1) j++
    if (i === a.length || j === b.length) return i === a.length && j === b.length
    if (a[i++] !== b[j++]) return false
  }
}

const X = ['x']
const X_UPDATE = ['x', 'update']

const slice_by_index: Kernel = (k) => {
  const x = k.in('x')
  const p = k.memo(X, () => {
    const sel = select(k, x)
    return planSlice(sel.base, sel.shape, sel.strides, sel.outShape)
  })
  return [sliceOut(k, x, p)]
}

/** A copy of x with the selected slice replaced by `update` (in place when the planner allows). */
const slice_update: Kernel = (k) => {
  const x = k.in('x')
  const u = k.in('update')
  const p = k.memo(X_UPDATE, () => {
    const sel = select(k, x)
    if (numel(sel.shape) !== u.data.length || !sameBeyondOnes(u.shape, sel.outShape))
      k.fail(
        `update ${shapeText(u.shape)} does not match the selected slice ${shapeText(sel.outShape)}`,
      )
    // a plain slice (unit strides, no masks, bounds inside x): sliceWrite can place it
    const plain =
      (!k.opt('stride') || k.ints('stride').every((v) => v === 1)) &&
      ['begin_mask', 'end_mask', 'squeeze_mask'].every(
        (m) => !k.opt(m) || k.bools(m, []).every((v) => !v),
      ) &&
      inBounds(x.shape, k.ints('begin'), k.ints('end'))
    return {
      base: sel.base,
      walk: coalesce(sel.shape, sel.strides),
      plain,
      dims: Int32Array.from(x.shape),
      count: Int32Array.from(sel.shape),
    }
  })
  const nk = k.inPlace && p.plain ? nativeKernels() : undefined
  const begin = k.in('begin').data
  const end = k.in('end').data
  if (
    nk &&
    u.data instanceof Float32Array &&
    x.data instanceof Float32Array &&
    begin instanceof Int32Array &&
    end instanceof Int32Array
  ) {
    // the bounds are read natively, when the call runs (a tape's KV-cache writes move)
    nk.sliceWrite(u.data, x.data, begin, end, p.dims, p.count)
    return [x]
  }
  noteJsWork()
  let out = x
  if (!k.inPlace) {
    out = k.alloc(k.outDType(), x.shape)
    out.data.set(x.data)
  }
  stridedScatter(u.data, out.data, p.base, p.walk.shape, p.walk.src)
  return [out]
}

const slice_by_size: Kernel = (k) => {
  const x = k.in('x')
  const begin = k.ints('begin')
  const size = k.ints('size')
  const r = x.shape.length
  if (begin.length !== r || size.length !== r) k.fail(`begin/size need ${r} entries`)
  const st = stridesOf(x.shape)
  let base = 0
  const shape = x.shape.map((len, i) => {
    const b = begin[i] < 0 ? begin[i] + len : begin[i]
    const n = size[i] === -1 ? len - b : size[i]
    if (b < 0 || n < 0 || b + n > len)
      k.fail(`begin ${begin[i]} size ${size[i]} is outside axis ${i} (${len})`)
    base += b * st[i]
    return n
  })
  return [sliceOut(k, x, planSlice(base, shape, st, shape))]
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1)

/** An index into an axis of size d: negatives count from the end; out of range is an error. */
function checkIndex(k: KernelCall, v: number, d: number): number {
  const i = v < 0 ? v + d : v
  if (i < 0 || i >= d) k.fail(`index ${v} is out of range for an axis of size ${d}`)
  return i
}

/** out[b, p, i, q] = x[b, p, indices[b, i], q] over x [B, P, D, Q] and indices [B, I]. */
const gather: Kernel = (k) => {
  const x = k.in('x')
  const idx = k.in('indices')
  const axis = axisOf(k, k.int('axis', 0), x.shape.length)
  const bd = k.int('batch_dims', 0)
  if (
    bd < 0 ||
    bd > axis ||
    bd > idx.shape.length ||
    idx.shape.slice(0, bd).join() !== x.shape.slice(0, bd).join()
  )
    k.fail(
      `batch_dims ${bd} does not fit x ${shapeText(x.shape)} and indices ${shapeText(idx.shape)}`,
    )
  const B = prod(x.shape.slice(0, bd))
  const P = prod(x.shape.slice(bd, axis))
  const D = x.shape[axis]
  const Q = prod(x.shape.slice(axis + 1))
  const I = prod(idx.shape.slice(bd))
  const out = k.alloc(k.outDType(), [
    ...x.shape.slice(0, axis),
    ...idx.shape.slice(bd),
    ...x.shape.slice(axis + 1),
  ])
  const od = out.data
  // an embedding table kept as fp16 bits: decode only the rows taken, never the whole table
  const half = x instanceof HalfWeight && od instanceof Float32Array ? x.bits : undefined
  const xd = half ? undefined : x.data
  let o = 0
  for (let b = 0; b < B; b++)
    for (let p = 0; p < P; p++)
      for (let i = 0; i < I; i++) {
        const j = checkIndex(k, idx.data[b * I + i], D)
        const from = ((b * P + p) * D + j) * Q
        if (half) {
          halfsToFloats(half.subarray(from, from + Q), (od as Float32Array).subarray(o, o + Q))
          o += Q
        } else if (Q === 1) od[o++] = xd![from]
        else {
          od.set(xd!.subarray(from, from + Q), o)
          o += Q
        }
      }
  return [out]
}

/** NumPy take_along_axis: out[o, i, q] = x[o, indices[o, i, q], q]. */
const gather_along_axis: Kernel = (k) => {
  const x = k.in('x')
  const idx = k.in('indices')
  const axis = axisOf(k, k.int('axis', 0), x.shape.length)
  if (
    idx.shape.length !== x.shape.length ||
    idx.shape.some((d, i) => i !== axis && d !== x.shape[i])
  )
    k.fail(
      `indices ${shapeText(idx.shape)} must match x ${shapeText(x.shape)} except on axis ${axis}`,
    )
  const O = prod(x.shape.slice(0, axis))
  const D = x.shape[axis]
  const Q = prod(x.shape.slice(axis + 1))
  const I = idx.shape[axis]
  const out = k.alloc(k.outDType(), idx.shape)
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let q = 0; q < Q; q++) {
        const p = (o * I + i) * Q + q
        out.data[p] = x.data[(o * D + checkIndex(k, idx.data[p], D)) * Q + q]
      }
  return [out]
}

/** Largest (or smallest) k along an axis, sorted; ties keep the lower index first; NaN sorts as the largest. */
const topk: Kernel = (k) => {
  const x = k.in('x')
  const axis = axisOf(k, k.int('axis', -1), x.shape.length)
  const D = x.shape[axis]
  let K = k.int('k', 1)
  if (K === -1) K = D
  if (K < 1 || K > D) k.fail(`k ${K} must be in [1, ${D}]`)
  const asc = k.bool('ascending', false)
  const O = prod(x.shape.slice(0, axis))
  const Q = prod(x.shape.slice(axis + 1))
  const shape = x.shape.map((d, i) => (i === axis ? K : d))
  const values = k.alloc(k.outDType(0), shape)
  const withIdx = k.bool('return_indices', true)
  const indices = withIdx ? k.alloc(k.outDType(1), shape) : undefined
  const order = new Int32Array(D)
  const key = new Float64Array(D)
  for (let o = 0; o < O; o++)
    for (let q = 0; q < Q; q++) {
      for (let d = 0; d < D; d++) {
        const v = x.data[(o * D + d) * Q + q]
        key[d] = v !== v ? Infinity : v
        order[d] = d
      }
      order.sort((a, b) => (key[a] === key[b] ? a - b : asc ? key[a] - key[b] : key[b] - key[a]))
      for (let j = 0; j < K; j++) {
        const p = (o * K + j) * Q + q
        values.data[p] = x.data[(o * D + order[j]) * Q + q]
        if (indices) indices.data[p] = order[j]
      }
    }
  return indices ? [values, indices] : [values]
}

/** slice_by_index, slice_update, slice_by_size, gather, gather_along_axis, topk. */
export const INDEXING: Record<string, Kernel> = {
  slice_by_index,
  slice_update,
  slice_by_size,
  gather,
  gather_along_axis,
  topk,
}
