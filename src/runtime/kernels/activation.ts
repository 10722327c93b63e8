// Unary math and activations, softmax (format doc §6.6). One plain loop per op.
import type { Kernel } from '../kernel.js'
import { nativeFor, noteJsWork } from '../native.js'
import { axisOf } from '../kernel.js'
import type { NumericData } from '../tensor.js'
import { expDet } from './exp.js'
import { erf, rint } from './math.js'

type A = NumericData
type UnaryFn = (x: A, o: A, n: number) => void

const UNARY: Record<string, UnaryFn> = {
  sqrt: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.sqrt(x[i])
  },
  exp: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.exp(x[i])
  },
  tanh: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.tanh(x[i])
  },
  sigmoid: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = 1 / (1 + Math.exp(-x[i]))
  },
  silu: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = x[i] / (1 + expDet(-x[i]))
  },
  relu: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = x[i] > 0 ? x[i] : x[i] === x[i] ? 0 : x[i]
  },
  erf: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = erf(x[i])
  },
  sin: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.sin(x[i])
  },
  cos: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.cos(x[i])
  },
  square: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = x[i] * x[i]
  },
  abs: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.abs(x[i])
  },
  sign: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.sign(x[i])
  },
  ceil: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.ceil(x[i])
  },
  floor: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.floor(x[i])
  },
  round: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = rint(x[i])
  },
  identity: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = x[i]
  },
  logical_not: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = x[i] ? 0 : 1
  },
}

function unary(f: UnaryFn, type: string): Kernel {
  const native = type === 'silu'
  return (k) => {
    const x = k.in('x')
    const out = k.alloc(k.outDType(), x.shape)
    const nk = native ? nativeFor(x.data.length, NATIVE_MIN) : undefined
    if (nk && x.data instanceof Float32Array && out.data instanceof Float32Array)
      nk.silu(x.data, out.data)
    else {
      noteJsWork()
      f(x.data, out.data, x.data.length)
    }
    return [out]
  }
}

/** Unary ops with a const scalar parameter: the parameter is read once per call. */
const rsqrt: Kernel = (k) => {
  const x = k.in('x')
  const eps = k.float('epsilon', 1e-12)
  const out = k.alloc(k.outDType(), x.shape)
  const xd = x.data
  const od = out.data
  for (let i = 0; i < xd.length; i++) od[i] = 1 / Math.sqrt(xd[i] + eps)
  return [out]
}

const inverse: Kernel = (k) => {
  const x = k.in('x')
  const eps = k.float('epsilon', 1e-4)
  const out = k.alloc(k.outDType(), x.shape)
  const xd = x.data
  const od = out.data
  for (let i = 0; i < xd.length; i++) od[i] = 1 / (xd[i] + eps)
  return [out]
}

/** log(x + ε): coremltools writes an epsilon input (iOS15 definition, default 1e-45). */
const log: Kernel = (k) => {
  const x = k.in('x')
  const eps = k.float('epsilon', 0)
  const out = k.alloc(k.outDType(), x.shape)
  for (let i = 0; i < x.data.length; i++) out.data[i] = Math.log(x.data[i] + eps)
  return [out]
}

const clip: Kernel = (k) => {
  const x = k.in('x')
  const lo = k.float('alpha')
  const hi = k.float('beta')
  const out = k.alloc(k.outDType(), x.shape)
  const xd = x.data
  const od = out.data
  for (let i = 0; i < xd.length; i++) od[i] = Math.min(Math.max(xd[i], lo), hi)
  return [out]
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI)
const GELU: Record<string, UnaryFn> = {
  EXACT: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = 0.5 * x[i] * (1 + erf(x[i] * Math.SQRT1_2))
  },
  TANH_APPROXIMATION: (x, o, n) => {
    for (let i = 0; i < n; i++) {
      const v = x[i]
      o[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)))
    }
  },
  SIGMOID_APPROXIMATION: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = x[i] / (1 + Math.exp(-1.702 * x[i]))
  },
}

const gelu: Kernel = (k) => {
  const mode = k.str('mode', 'EXACT')
  const f = Object.hasOwn(GELU, mode) ? GELU[mode] : k.fail(`unknown gelu mode '${mode}'`)
  const x = k.in('x')
  const out = k.alloc(k.outDType(), x.shape)
  f(x.data, out.data, x.data.length)
  return [out]
}

/**
 * softmax over one axis: x viewed as [outer, n, inner]; max-subtracted, exps by expDet (so the
 * native softmax, which computes them four at a time, gives the same bits), sums in float64.
 */
const softmax: Kernel = (k) => {
  const x = k.in('x')
  const axis = axisOf(k, k.int('axis', -1), x.shape.length)
  const out = k.alloc(k.outDType(), x.shape)
  const nk = nativeFor(x.data.length, NATIVE_MIN)
  if (nk && x.data instanceof Float32Array && out.data instanceof Float32Array) {
    const n = x.shape[axis]
    let inner = 1
    for (let i = axis + 1; i < x.shape.length; i++) inner *= x.shape[i]
    const outer = n * inner === 0 ? 0 : x.data.length / (n * inner)
    nk.softmax(x.data, out.data, outer, n, inner)
  } else {
    noteJsWork()
    softmaxInto(x.data, out.data, x.shape, axis)
  }
  return [out]
}

/**
 * softmax over `rows` rows of n contiguous floats, on the path (native or TypeScript) the softmax
 * kernel takes for a tensor of `size` elements, so fused callers get its exact bits.
 */
export function softmaxRows(
  x: Float32Array,
  o: Float32Array,
  rows: number,
  n: number,
  size: number,
) {
  const nk = nativeFor(size, NATIVE_MIN)
  if (nk) nk.softmax(x, o, rows, n, 1)
  else softmaxInto(x, o, [rows, n], 1)
}

/** exp costs ~20 ns in JS: softmax and silu pay for the N-API call from a few dozen elements. */
const NATIVE_MIN = 64

export function softmaxInto(
  xd: NumericData,
  od: NumericData,
  shape: readonly number[],
  axis: number,
): void {
  const n = shape[axis]
  let inner = 1
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]
  const outer = n * inner === 0 ? 0 : xd.length / (n * inner)
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j
      const end = base + n * inner
      let max = -Infinity
      for (let p = base; p < end; p += inner) if (xd[p] > max) max = xd[p]
      let sum = 0
      let stop = base // one step past the last element exp was called for
      for (let p = base; p < end; p += inner) {
        // exp underflows to exactly 0 below −745.2: masked (−∞) scores give 0
        const d = xd[p] - max
        if (d < -746) {
          od[p] = 0
          continue
        }
        const e = expDet(d)
        od[p] = e
        sum += e
        stop = p + inner
      }
      // all -inf: max is -inf and exp(NaN) poisons the row, as in NumPy; past `stop` every
      // value is 0 and stays 0 unless inv is not finite (then 0 · inv is NaN)
      const inv = 1 / sum
      if (!Number.isFinite(inv)) stop = end
      for (let p = base; p < stop; p += inner) od[p] *= inv
    }
  }
}

/** Unary math, activations and softmax. */
export const ACTIVATION: Record<string, Kernel> = {
  ...Object.fromEntries(Object.entries(UNARY).map(([t, f]) => [t, unary(f, t)])),
  rsqrt,
  inverse,
  log,
  clip,
  gelu,
  softmax,
}
