// Reductions, reduce_argmax and layer_norm (format doc §6.7–§6.9). A reduction splits x's dims
// into kept ones (one output each) and reduced ones (summed over), walked through two offset
// tables, so any set of axes works the same way; sums accumulate in float64. The tables depend on
// x's shape and the axes only, so each step keeps them in its memo.
import type { Kernel, KernelCall } from '../kernel.js'
import { axisOf } from '../kernel.js'
import { shapeText, stridesOf, type NumericTensor } from '../tensor.js'

/** Offsets of every index combination over `dims` (row-major), given x's strides. */
function offsets(shape: readonly number[], strides: number[], dims: number[]): Int32Array {
  let n = 1
  for (const d of dims) n *= shape[d]
  const out = new Int32Array(n)
  for (let q = 0; q < n; q++) {
    let rem = q
    let off = 0
    for (let i = dims.length - 1; i >= 0; i--) {
      const d = dims[i]
      off += (rem % shape[d]) * strides[d]
      rem = Math.floor(rem / shape[d])
    }
    out[q] = off
  }
  return out
}

interface Split {
  outer: Int32Array
  inner: Int32Array
  /** s when inner[i] = i·s for every i (the reduced dims form one strided run), else 0. */
  step: number
  outShape: number[]
}

function stepOf(inner: Int32Array): number {
  const s = inner.length > 1 ? inner[1] : 1
  for (let i = 0; i < inner.length; i++) if (inner[i] !== i * s) return 0
  return s
}

function split(k: KernelCall, x: NumericTensor, axes: number[], keep: boolean): Split {
  const r = x.shape.length
  const red = new Set(axes.map((a) => axisOf(k, a, r, 'axes entry')))
  const all = [...Array(r).keys()]
  const kept = all.filter((d) => !red.has(d))
  const st = stridesOf(x.shape)
  const inner = offsets(
    x.shape,
    st,
    all.filter((d) => red.has(d)),
  )
  return {
    outer: offsets(x.shape, st, kept),
    inner,
    step: stepOf(inner),
    outShape: all.flatMap((d) => (red.has(d) ? (keep ? [1] : []) : [x.shape[d]])),
  }
}

const allAxes = (x: NumericTensor) => x.shape.map((_, i) => i)

/** The split over the op's `axes` (all when absent), memoized on x's shape and the params. */
const axesSplit = (k: KernelCall, x: NumericTensor, shapeOnly: readonly string[], keep?: boolean) =>
  k.memo(shapeOnly, () =>
    split(k, x, k.opt('axes') ? k.ints('axes') : allAxes(x), keep ?? k.bool('keep_dims', false)),
  )

const X = ['x']
const X_GAMMA_BETA = ['x', 'gamma', 'beta']

type Reducer = (xd: NumericTensor['data'], base: number, inner: Int32Array) => number
const REDUCERS: Record<string, Reducer> = {
  reduce_sum: (xd, b, inner) => {
    let s = 0
    for (let i = 0; i < inner.length; i++) s += xd[b + inner[i]]
    return s
  },
  reduce_mean: (xd, b, inner) => {
    let s = 0
    for (let i = 0; i < inner.length; i++) s += xd[b + inner[i]]
    return s / inner.length
  },
  reduce_max: (xd, b, inner) => {
    let m = -Infinity
    for (let i = 0; i < inner.length; i++) {
      const v = xd[b + inner[i]]
      if (v > m || v !== v) m = v
      if (m !== m) break
    }
    return m
  },
  reduce_min: (xd, b, inner) => {
    let m = Infinity
    for (let i = 0; i < inner.length; i++) {
      const v = xd[b + inner[i]]
      if (v < m || v !== v) m = v
      if (m !== m) break
    }
    return m
  },
}

function reduce(f: Reducer): Kernel {
  return (k) => {
    const x = k.in('x')
    const s = axesSplit(k, x, X)
    const out = k.alloc(k.outDType(), s.outShape)
    for (let o = 0; o < s.outer.length; o++) out.data[o] = f(x.data, s.outer[o], s.inner)
    return [out]
  }
}

/** Index of the first maximum (NumPy argmax; NaN counts as the maximum). */
const reduce_argmax: Kernel = (k) => {
  const x = k.in('x')
  const s = k.memo(X, () => split(k, x, [k.int('axis', -1)], k.bool('keep_dims', false)))
  const out = k.alloc(k.outDType(), s.outShape)
  const xd = x.data
  for (let o = 0; o < s.outer.length; o++) {
    const b = s.outer[o]
    let best = 0
    let m = -Infinity
    for (let i = 0; i < s.inner.length; i++) {
      const v = xd[b + s.inner[i]]
      if (v > m || (v !== v && m === m)) {
        m = v
        best = i
        if (v !== v) break
      }
    }
    out.data[o] = best
  }
  return [out]
}

/**
 * (x − mean) / √(var + ε) · γ + β over `axes`. γ/β have the normalized dims in ascending dim order
 * whatever the order of `axes` (coremltools reshapes them to x's rank that way).
 */
const layer_norm: Kernel = (k) => {
  const x = k.in('x')
  const s = axesSplit(k, x, X_GAMMA_BETA, true)
  const gamma = k.opt('gamma')?.data
  const beta = k.opt('beta')?.data
  const { outer, inner } = s
  const n = inner.length
  if ((gamma && gamma.length !== n) || (beta && beta.length !== n))
    k.fail(
      `gamma/beta must have ${n} elements for axes ${k.opt('axes') ? shapeText(k.ints('axes')) : 'all'} of x ${shapeText(x.shape)}`,
    )
  const eps = k.float('epsilon', 1e-5)
  const out = k.alloc(k.outDType(), x.shape)
  const xd = x.data
  const od = out.data
  const g = gamma instanceof Float32Array ? gamma : undefined
  const bt = beta instanceof Float32Array ? beta : undefined
  if (
    s.step &&
    xd instanceof Float32Array &&
    od instanceof Float32Array &&
    g === gamma &&
    bt === beta
  ) {
    for (let o = 0; o < outer.length; o++) normStrided(xd, od, outer[o], s.step, n, eps, g, bt)
    return [out]
  }
  for (let o = 0; o < outer.length; o++) {
    const b = outer[o]
    let mean = 0
    for (let i = 0; i < n; i++) mean += xd[b + inner[i]]
    mean /= n
    let v = 0
    for (let i = 0; i < n; i++) {
      const d = xd[b + inner[i]] - mean
      v += d * d
    }
    const inv = 1 / Math.sqrt(v / n + eps)
    for (let i = 0; i < n; i++) {
      const y = (xd[b + inner[i]] - mean) * inv
      od[b + inner[i]] = (gamma ? y * gamma[i] : y) + (beta ? beta[i] : 0)
    }
  }
  return [out]
}

type F32 = Float32Array

/** layer_norm of the n elements b, b+s, b+2s, … (the same arithmetic as the table walk above). */
function normStrided(
  xd: F32,
  od: F32,
  b: number,
  s: number,
  n: number,
  eps: number,
  gamma: F32 | undefined,
  beta: F32 | undefined,
) {
  let mean = 0
  for (let i = 0; i < n; i++) mean += xd[b + i * s]
  mean /= n
  let v = 0
  for (let i = 0; i < n; i++) {
    const d = xd[b + i * s] - mean
    v += d * d
  }
  const inv = 1 / Math.sqrt(v / n + eps)
  for (let i = 0; i < n; i++) {
    const y = (xd[b + i * s] - mean) * inv
    od[b + i * s] = (gamma ? y * gamma[i] : y) + (beta ? beta[i] : 0)
  }
}

/** reduce_*, reduce_argmax, layer_norm. */
export const REDUCTION: Record<string, Kernel> = {
  ...Object.fromEntries(Object.entries(REDUCERS).map(([t, f]) => [t, reduce(f)])),
  reduce_argmax,
  layer_norm,
}
