// Elementwise binary ops, comparisons and select, with NumPy broadcasting (format doc §6.5, §6.24).
// Each op is one row loop over (x, y) with inner strides; broadcast.ts walks the rows, so the
// per-element work is a plain expression, not a closure call.
import type { Kernel, KernelCall } from '../kernel.js'
import { nativeFor, noteJsWork } from '../native.js'
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

/**
 * The arithmetic rows again for Float32Array operands and output (fp16/fp32 values): separate
 * function literals, so each one only ever sees Float32Array and V8 keeps its element loads
 * monomorphic (the shared rows above also see int32 and bool data and go megamorphic).
 */
type F32 = Float32Array
type F32RowFn = (
  a: F32,
  ao: number,
  as: number,
  b: F32,
  bo: number,
  bs: number,
  o: F32,
  oo: number,
  n: number,
) => void
const F32_ROWS: Record<string, F32RowFn> = {
  add: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] + b[bo + i * bs]
  },
  sub: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] - b[bo + i * bs]
  },
  mul: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] * b[bo + i * bs]
  },
  real_div: (a, ao, as, b, bo, bs, o, oo, n) => {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i * as] / b[bo + i * bs]
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
}

/** A broadcast plan plus each operand's inner stride, memoized per step. */
interface Rows {
  readonly plan: BroadcastPlan
  readonly inner: readonly number[]
  /** The plan as the native `binary` takes it: dims and each operand's strides. */
  readonly dims32: Int32Array
  readonly strides32: Int32Array[]
}

function broadcastOf(k: KernelCall, ts: NumericTensor[], names: readonly string[]): Rows {
  return k.memo(names, () => {
    const plan = planBroadcast(ts.map((t) => t.shape))
    if (!plan)
      k.fail(`cannot broadcast ${ts.map((t, i) => `${names[i]} ${shapeText(t.shape)}`).join(', ')}`)
    return {
      plan,
      inner: plan.strides.map((s) => s[s.length - 1]),
      dims32: Int32Array.from(plan.dims),
      strides32: plan.strides.map((s) => Int32Array.from(s)),
    }
  })
}

const XY = ['x', 'y']
const COND_A_B = ['cond', 'a', 'b']

/** Ops the native `binary` runs (its op codes), bit for bit as F32_ROWS. */
const NATIVE_OP: Record<string, number> = { add: 0, sub: 1, mul: 2, real_div: 3 }
/** Below this many elements the N-API call costs more than the loop. */
const NATIVE_MIN = 256

function binary(type: string): Kernel {
  const f = ROWS[type]
  const f32 = Object.hasOwn(F32_ROWS, type) ? F32_ROWS[type] : undefined
  const op = Object.hasOwn(NATIVE_OP, type) ? NATIVE_OP[type] : -1
  return (k) => {
    const x = k.in('x')
    const y = k.in('y')
    const rows = broadcastOf(k, [x, y], XY)
    const { plan, inner } = rows
    const out = k.alloc(k.outDType(), plan.shape)
    const nk = op >= 0 ? nativeFor(out.data.length, NATIVE_MIN) : undefined
    // Float32Arrays; or Int32Arrays for add/sub (index math), native only while a tape records
    // (below NATIVE_MIN otherwise: the call costs more than the loop)
    const [xd, yd, od] = [x.data, y.data, out.data]
    const f32s =
      xd instanceof Float32Array && yd instanceof Float32Array && od instanceof Float32Array
    const i32s = xd instanceof Int32Array && yd instanceof Int32Array && od instanceof Int32Array
    if (nk && (f32s || (i32s && op <= 1))) {
      const [sx, sy] = rows.strides32
      nk.binary(op, xd as Float32Array, yd as Float32Array, od as Float32Array, rows.dims32, sx, sy)
      return [out]
    }
    noteJsWork()
    const sx = inner[0]
    const sy = inner[1]
    if (
      f32 &&
      xd instanceof Float32Array &&
      yd instanceof Float32Array &&
      od instanceof Float32Array
    ) {
      if (plan.dims.length === 1) f32(xd, 0, sx, yd, 0, sy, od, 0, plan.dims[0])
      else eachRow(plan, (off, oo, n) => f32(xd, off[0], sx, yd, off[1], sy, od, oo, n))
    } else eachRow(plan, (off, oo, n) => f(xd, off[0], sx, yd, off[1], sy, od, oo, n))
    return [out]
  }
}

/** select's row for Float32Array a/b/out and a bool cond (monomorphic, as F32_ROWS). */
function selectF32(
  cd: Uint8Array,
  co: number,
  cs: number,
  ad: F32,
  ao: number,
  as: number,
  bd: F32,
  bo: number,
  bs: number,
  od: F32,
  oo: number,
  n: number,
) {
  for (let i = 0; i < n; i++) od[oo + i] = cd[co + i * cs] ? ad[ao + i * as] : bd[bo + i * bs]
}

function selectAny(
  cd: A,
  co: number,
  cs: number,
  ad: A,
  ao: number,
  as: number,
  bd: A,
  bo: number,
  bs: number,
  od: A,
  oo: number,
  n: number,
) {
  for (let i = 0; i < n; i++) od[oo + i] = cd[co + i * cs] ? ad[ao + i * as] : bd[bo + i * bs]
}

const select: Kernel = (k) => {
  const c = k.in('cond')
  const a = k.in('a')
  const b = k.in('b')
  const { plan, inner } = broadcastOf(k, [c, a, b], COND_A_B)
  const out = k.alloc(k.outDType(), plan.shape)
  const [sc, sa, sb] = inner
  const cd = c.data
  const ad = a.data
  const bd = b.data
  const od = out.data
  if (
    cd instanceof Uint8Array &&
    ad instanceof Float32Array &&
    bd instanceof Float32Array &&
    od instanceof Float32Array
  )
    eachRow(plan, (off, oo, n) =>
      selectF32(cd, off[0], sc, ad, off[1], sa, bd, off[2], sb, od, oo, n),
    )
  else
    eachRow(plan, (off, oo, n) =>
      selectAny(cd, off[0], sc, ad, off[1], sa, bd, off[2], sb, od, oo, n),
    )
  return [out]
}

/** Elementwise binary ops, comparisons and select. */
export const ELEMENTWISE: Record<string, Kernel> = {
  ...Object.fromEntries(Object.keys(ROWS).map((t) => [t, binary(t)])),
  select,
}
