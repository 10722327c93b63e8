// Elementwise binary ops, comparisons and select, with NumPy broadcasting (format doc §6.5, §6.24).
// Each op is one row loop over (x, y) with inner strides; broadcast.ts walks the rows, so the
// per-element work is a plain expression, not a closure call.
import type { Kernel, KernelCall } from '../kernel.js'
import type { NumericData, NumericTensor } from '../tensor.js'
import { shapeText } from '../tensor.js'
import { eachRow, planBroadcast, type BroadcastPlan } from './broadcast.js'

type A = NumericData
/** out[o + i] = f(a[ao + i*as], b[bo + i*bs]) for i < n */
type RowFn = (
  a: A,
  ao: number,
  as: number,
  b: A,
  bo: number,
  bs: number,
  o: A,
  oo: number,
  n: number,
) => void

const ROWS: Record<string, RowFn> = {
  add: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] + b[bo + i * bs]
  },
  sub: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] - b[bo + i * bs]
  },
  mul: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] * b[bo + i * bs]
  },
  // int32 outputs truncate (coremltools: truediv, then stored as T)
  real_div: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] / b[bo + i * bs]
  },
  floor_div: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = Math.floor(a[ao + i * as] / b[bo + i * bs])
  },
  // Python/NumPy mod: the result takes the sign of the divisor
  mod: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) {
      const x = a[ao + i * as]
      const y = b[bo + i * bs]
      o[oo + i] = x - Math.floor(x / y) * y
    }
  },
  maximum: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = Math.max(a[ao + i * as], b[bo + i * bs])
  },
  minimum: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = Math.min(a[ao + i * as], b[bo + i * bs])
  },
  pow: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] ** b[bo + i * bs]
  },
  equal: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] === b[bo + i * bs] ? 1 : 0
  },
  not_equal: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] !== b[bo + i * bs] ? 1 : 0
  },
  less: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] < b[bo + i * bs] ? 1 : 0
  },
  less_equal: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] <= b[bo + i * bs] ? 1 : 0
  },
  greater: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] > b[bo + i * bs] ? 1 : 0
  },
  greater_equal: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] >= b[bo + i * bs] ? 1 : 0
  },
}

function broadcastOf(k: KernelCall, ts: NumericTensor[], names: string[]): BroadcastPlan {
  const plan = planBroadcast(ts.map((t) => t.shape))
  if (!plan)
    k.fail(`cannot broadcast ${ts.map((t, i) => `${names[i]} ${shapeText(t.shape)}`).join(', ')}`)
  return plan
}

function binary(type: string): Kernel {
  const f = ROWS[type]
  return (k) => {
    const x = k.in('x')
    const y = k.in('y')
    const plan = broadcastOf(k, [x, y], ['x', 'y'])
    const out = k.alloc(k.outDType(), plan.shape)
    const [sx, sy] = plan.strides.map((s) => s[s.length - 1])
    const xd = x.data
    const yd = y.data
    const od = out.data
    eachRow(plan, (off, oo, n) => f(xd, off[0], sx, yd, off[1], sy, od, oo, n))
    return [out]
  }
}

const select: Kernel = (k) => {
  const c = k.in('cond')
  const a = k.in('a')
  const b = k.in('b')
  const plan = broadcastOf(k, [c, a, b], ['cond', 'a', 'b'])
  const out = k.alloc(k.outDType(), plan.shape)
  const [sc, sa, sb] = plan.strides.map((s) => s[s.length - 1])
  const cd = c.data
  const ad = a.data
  const bd = b.data
  const od = out.data
  eachRow(plan, (off, oo, n) => {
    for (let i = 0; i < n; i++)
      od[oo + i] = cd[off[0] + i * sc] ? ad[off[1] + i * sa] : bd[off[2] + i * sb]
  })
  return [out]
}

/** Elementwise binary ops, comparisons and select. */
export const ELEMENTWISE: Record<string, Kernel> = {
  ...Object.fromEntries(Object.keys(ROWS).map((t) => [t, binary(t)])),
  select,
}
