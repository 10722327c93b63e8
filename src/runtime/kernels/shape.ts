// Shape ops (format doc §6.10, §6.11, §6.15–§6.18, §6.21, §6.25–§6.27). reshape, expand_dims and
// squeeze return views that share their input's data: the executor's reference counts see the
// shared buffer and keep it alive, and no kernel writes into its inputs. Output shapes and copy
// plans depend on input shapes and params only, so each step keeps them in its memo.
import type { Kernel } from '../kernel.js'
import { axisOf } from '../kernel.js'
import { numel, shapeText, stridesOf, type NumericTensor, type Tensor } from '../tensor.js'
import { transpose2d } from '../gemm.js'
import { coalesce, copyRun, stridedCopy } from './strided.js'
import { nativeFor, noteJsWork } from '../native.js'

const X = ['x']

const view = (x: NumericTensor, shape: number[]): Tensor => ({
  dtype: x.dtype,
  shape,
  data: x.data,
})

/** iOS17 reshape: 0 copies the dim of x counted from the right, one -1 is inferred. */
const reshape: Kernel = (k) => {
  const x = k.in('x')
  return [
    view(
      x,
      k.memo(X, () => reshapeTo(k, x)),
    ),
  ]
}

function reshapeTo(k: Parameters<Kernel>[0], x: NumericTensor): number[] {
  const spec = k.ints('shape')
  const shape = spec.map((d, i) => (d === 0 ? (x.shape[x.shape.length - spec.length + i] ?? 1) : d))
  const neg = shape.indexOf(-1)
  const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1)
  const n = x.data.length
  if (neg >= 0) {
    if (shape.lastIndexOf(-1) !== neg || known === 0 || n % known)
      k.fail(`cannot reshape ${shapeText(x.shape)} into ${shapeText(spec)}`)
    shape[neg] = n / known
  }
  if (numel(shape) !== n || shape.some((d) => d < 0))
    k.fail(`cannot reshape ${shapeText(x.shape)} (${n} elements) into ${shapeText(spec)}`)
  return shape
}

const expand_dims: Kernel = (k) => {
  const x = k.in('x')
  const shape = k.memo(X, () => {
    const axes = k.ints('axes')
    const r = x.shape.length + axes.length
    const norm = axes.map((a) => axisOf(k, a, r, 'axes entry')).sort((a, b) => a - b)
    const shape = [...x.shape]
    for (const a of norm) shape.splice(a, 0, 1)
    return shape
  })
  return [view(x, shape)]
}

const squeeze: Kernel = (k) => {
  const x = k.in('x')
  const shape = k.memo(X, () => {
    const axes = k.opt('axes')
      ? new Set(k.ints('axes').map((a) => axisOf(k, a, x.shape.length)))
      : undefined
    return x.shape.filter((d, i) => !(d === 1 && (!axes || axes.has(i))))
  })
  return [view(x, shape)]
}

const transpose: Kernel = (k) => {
  const x = k.in('x')
  const p = k.memo(X, () => {
    const r = x.shape.length
    const perm = k.ints('perm').map((p) => axisOf(k, p, r, 'perm entry'))
    if (perm.length !== r || new Set(perm).size !== r)
      k.fail(`perm ${shapeText(perm)} is not a permutation of rank ${r}`)
    const st = stridesOf(x.shape)
    const shape = perm.map((p) => x.shape[p])
    const walk = coalesce(
      shape,
      perm.map((p) => st[p]),
    )
    // moving only size-1 axes keeps the elements in order: a view, as reshape is
    const inOrder = walk.shape.length === 1 && walk.src[0] === 1
    return { shape, walk, batched: batchedTranspose(walk), inOrder }
  })
  if (p.inOrder) return [view(x, p.shape)]
  const out = k.alloc(k.outDType(), p.shape)
  const b = p.batched
  if (b)
    for (let i = 0; i < b.batches; i++)
      transpose2d(x.data, i * b.rows * b.cols, b.rows, b.cols, out.data, i * b.rows * b.cols)
  else {
    noteJsWork()
    stridedCopy(x.data, 0, out.data, p.walk.shape, p.walk.src)
  }
  return [out]
}

/**
 * A walk that is a batch of 2-D transposes (the last two dims of x swapped, the usual head
 * reshuffle): out[q, i, j] = x[q, j, i] for x planes [rows, cols]; undefined otherwise.
 */
function batchedTranspose(w: { shape: number[]; src: number[] }) {
  const r = w.shape.length
  if (r < 2 || r > 3) return undefined
  const [a, b] = w.shape.slice(-2)
  const [sa, sb] = w.src.slice(-2)
  if (sa !== 1 || sb !== a || (r === 3 && w.src[0] !== a * b)) return undefined
  return { batches: r === 3 ? w.shape[0] : 1, rows: b, cols: a }
}

const tile: Kernel = (k) => {
  const x = k.in('x')
  const reps = k.ints('reps')
  if (reps.length !== x.shape.length)
    k.fail(`reps ${shapeText(reps)} must have one entry per dim of x`)
  const shape = x.shape.map((d, i) => d * reps[i])
  const out = k.alloc(k.outDType(), shape)
  const st = stridesOf(x.shape)
  const os = stridesOf(shape)
  const od = out.data
  for (let o = 0; o < od.length; o++) {
    let off = 0
    for (let d = 0; d < shape.length; d++) off += (Math.floor(o / os[d]) % x.shape[d]) * st[d]
    od[o] = x.data[off]
  }
  return [out]
}

/** Outer count, axis size and inner block of `shape` around `axis`. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1
  let inner = 1
  for (let i = 0; i < axis; i++) outer *= shape[i]
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]
  return [outer, shape[axis], inner]
}

interface ConcatPlan {
  readonly shape: number[]
  readonly outer: number
  readonly inner: number
  /** Elements each input contributes per outer index. */
  readonly lens: number[]
  readonly interleave: boolean
}

function planConcat(k: Parameters<Kernel>[0], xs: NumericTensor[]): ConcatPlan {
  const r = xs[0].shape.length
  const axis = axisOf(k, k.int('axis'), r)
  const interleave = k.bool('interleave', false)
  for (const [i, t] of xs.entries()) {
    const bad = t.shape.length !== r || t.shape.some((d, j) => j !== axis && d !== xs[0].shape[j])
    if (bad || (interleave && t.shape[axis] !== xs[0].shape[axis]))
      k.fail(`values[${i}] ${shapeText(t.shape)} does not fit values[0] ${shapeText(xs[0].shape)}`)
  }
  const total = xs.reduce((a, t) => a + t.shape[axis], 0)
  const shape = xs[0].shape.map((d, j) => (j === axis ? total : d))
  const [outer, , inner] = around(shape, axis)
  return { shape, outer, inner, lens: xs.map((t) => t.shape[axis] * inner), interleave }
}

const VALUES = ['values']

/** Both Float32Arrays or both Int32Arrays (what the native copy takes). */
const sameArrayType = (a: NumericTensor['data'], b: NumericTensor['data']) =>
  (a instanceof Float32Array && b instanceof Float32Array) ||
  (a instanceof Int32Array && b instanceof Int32Array)

const concat: Kernel = (k) => {
  const xs = k.list('values')
  const { shape, outer, inner, lens, interleave } = k.memo(VALUES, () => planConcat(k, xs))
  const out = k.alloc(k.outDType(), shape)
  const od = out.data
  let o = 0
  const nk = interleave ? undefined : nativeFor(od.length, Infinity)
  if (nk && xs.every((t) => sameArrayType(t.data, od))) {
    // while a tape records: each piece one native call, so the tape keeps concat (index math)
    for (let q = 0; q < outer; q++)
      for (let t = 0; t < xs.length; t++) {
        nk.copy(xs[t].data as Int32Array, q * lens[t], od as Int32Array, o, lens[t])
        o += lens[t]
      }
    return [out]
  }
  noteJsWork()
  for (let q = 0; q < outer; q++) {
    if (interleave) {
      // out[.., j·N + n, ..] = values[n][.., j, ..]
      const len = lens[0]
      for (let j = 0; j < len; j += inner)
        for (const t of xs) for (let i = 0; i < inner; i++) od[o++] = t.data[q * len + j + i]
    } else {
      for (let t = 0; t < xs.length; t++) {
        const len = lens[t]
        copyRun(xs[t].data, q * len, od, o, len)
        o += len
      }
    }
  }
  return [out]
}

/** stack(values, axis): the inputs joined along a new axis. */
const stack: Kernel = (k) => {
  const xs = k.list('values')
  const shape0 = xs[0].shape
  for (const [i, t] of xs.entries())
    if (t.shape.join() !== shape0.join())
      k.fail(`values[${i}] ${shapeText(t.shape)} differs from values[0] ${shapeText(shape0)}`)
  const axis = axisOf(k, k.int('axis'), shape0.length + 1)
  const shape = [...shape0]
  shape.splice(axis, 0, xs.length)
  const out = k.alloc(k.outDType(), shape)
  let inner = 1
  for (let i = axis; i < shape0.length; i++) inner *= shape0[i]
  const outer = inner === 0 ? 0 : xs[0].data.length / inner
  let o = 0
  for (let q = 0; q < outer; q++)
    for (const t of xs) {
      out.data.set(t.data.subarray(q * inner, (q + 1) * inner), o)
      o += inner
    }
  return [out]
}

const split: Kernel = (k) => {
  const x = k.in('x')
  const axis = axisOf(k, k.int('axis'), x.shape.length)
  const dim = x.shape[axis]
  let sizes: number[]
  if (k.opt('split_sizes')) sizes = k.ints('split_sizes')
  else {
    const n = k.int('num_splits')
    if (dim % n) k.fail(`dim ${dim} is not divisible into ${n} splits`)
    sizes = new Array<number>(n).fill(dim / n)
  }
  if (sizes.reduce((a, b) => a + b, 0) !== dim)
    k.fail(`split_sizes ${shapeText(sizes)} do not sum to ${dim}`)
  const [outer, , inner] = around(x.shape, axis)
  let start = 0
  return sizes.map((size, i) => {
    const out = k.alloc(
      k.outDType(i),
      x.shape.map((d, j) => (j === axis ? size : d)),
    )
    const len = size * inner
    for (let q = 0; q < outer; q++) {
      const from = q * dim * inner + start * inner
      out.data.set(x.data.subarray(from, from + len), q * len)
    }
    start += size
    return out
  })
}

const fill: Kernel = (k) => {
  const shape = k.ints('shape')
  const value = k.opt('value') ? k.float('value') : 0
  const out = k.alloc(k.outDType(), shape)
  out.data.fill(value)
  return [out]
}

/** Keeps x[.., m, n] when (lower < 0 or m − n ≤ lower) and (upper < 0 or n − m ≤ upper). */
const band_part: Kernel = (k) => {
  const x = k.in('x')
  const lower = k.int('lower', -1)
  const upper = k.int('upper', -1)
  const r = x.shape.length
  if (r < 2) k.fail(`x must have rank >= 2, got ${shapeText(x.shape)}`)
  const M = x.shape[r - 2]
  const N = x.shape[r - 1]
  const out = k.alloc(k.outDType(), x.shape)
  const xd = x.data
  const od = out.data
  for (let b = 0; b < xd.length; b += M * N) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        const keep = (lower < 0 || m - n <= lower) && (upper < 0 || n - m <= upper)
        od[b + m * N + n] = keep ? xd[b + m * N + n] : 0
      }
    }
  }
  return [out]
}

/** NumPy astype: floats to ints truncate toward zero and wrap; to bool is x ≠ 0; fp16 rounds after. */
const cast: Kernel = (k) => {
  const x = k.in('x')
  const dt = k.outDType()
  const out = k.alloc(dt, x.shape)
  const xd = x.data
  const od = out.data
  if (dt === 'bool') for (let i = 0; i < xd.length; i++) od[i] = xd[i] !== 0 ? 1 : 0
  else if (dt === 'fp16' || dt === 'fp32') od.set(xd)
  else for (let i = 0; i < xd.length; i++) od[i] = Math.trunc(xd[i])
  return [out]
}

/** reshape, transpose, expand_dims, squeeze, concat, stack, split, tile, fill, band_part, cast. */
export const SHAPE: Record<string, Kernel> = {
  reshape,
  expand_dims,
  squeeze,
  transpose,
  tile,
  concat,
  stack,
  split,
  fill,
  band_part,
  cast,
}
