// Plan-time fusion of op chains that fp16 ANE graphs spell out element by element. Each fused
// op computes exactly what its chain computes, every fp16 rounding of the intermediate vars
// included, so results are bit for bit those of the unfused plan (fuse.test.ts checks); it saves
// the per-op cost of the executor (about 1/3 of the ops of a decode step) and, for attention,
// the work on masked cache positions.
//
//   rms_norm_pair   mul(h, −1) → concat([h, −h], axis) → layer_norm(axes=[axis]) →
//                   slice_by_index(first half of axis) → mul(·, weight)
//   rotate_half     slice x[…, :D/2], x[…, D/2:] → mul(x2, −1) → concat([−x2, x1], −1) →
//                   mul(x, cos) + mul(rot, sin)
//   masked_attention  see fuse-attention.ts
//
// Only chains whose intermediate vars are fp16, read by the chain alone, and of static shape fuse.
import type { Operation, Var } from '../mil/program.js'
import { matchAttention } from './fuse-attention.js'
import {
  axisIn,
  fp16,
  fused,
  Graph,
  same,
  shapeOf,
  type ConstOf,
  type Match,
} from './fuse-graph.js'
import { HalfWeight } from './half.js'
import type { Kernel } from './kernel.js'
import { LutWeight } from './lut.js'
import { sliceAxes } from './kernels/indexing.js'
import { nativeKernels, noteJsWork } from './native.js'
import { roundHalfInPlace } from './round.js'
import { numel } from './tensor.js'

export const FUSED_RMS_NORM = 'anemll.rms_norm_pair'
export const FUSED_ROTATE_HALF = 'anemll.rotate_half'

/** The live ops with each fusable chain replaced by one op (the chain's last output kept). */
export function fuseOps(ops: readonly Operation[], outputs: readonly Var[], constOf: ConstOf) {
  const uses = new Map<Var, Operation[]>()
  for (const op of ops)
    for (const x of Object.values(op.inputs))
      for (const v of [x].flat() as Var[]) uses.set(v, [...(uses.get(v) ?? []), op])
  const g = new Graph(uses, new Set(outputs), constOf)
  const replaced = new Map<Operation, Operation | null>()
  for (const op of ops) {
    if (replaced.has(op)) continue
    const m = matchRmsNorm(g, op) ?? matchRotateHalf(g, op) ?? matchAttention(g, op)
    if (!m) continue
    if (m.chain.some((o) => replaced.has(o))) continue
    for (const o of m.chain) replaced.set(o, null)
    replaced.set(m.last, m.fused)
  }
  const out: Operation[] = []
  for (const op of ops) {
    const r = replaced.get(op)
    if (r === undefined) out.push(op)
    else if (r) out.push(r)
  }
  return out
}

/** −x as a mul by a const −1, with x its other operand (and the shape of x). */
function negOf(g: Graph, neg: Operation, x: Var) {
  const [a, b] = [shapeOf(x), shapeOf(neg.outputs[0])]
  return neg.type === 'mul' && g.isConst(g.other(neg, x), -1) && !!a && !!b && same(a, b)
}

/** The [start, end) range a stride-1, non-squeezing slice takes on each axis of x. */
function sliceRanges(g: Graph, s: Operation, x: Var): [number, number][] | undefined {
  const shape = shapeOf(x)
  const p = s.inputs as Record<string, Var | undefined>
  const begin = g.ints(p.begin)
  const end = g.ints(p.end)
  if (!shape || !begin || !end) return undefined
  const flags = (v: Var | undefined) => (v ? g.ints(v)?.map((e) => e !== 0) : [])
  const [stride, bm, em, sm] = [
    g.ints(p.stride),
    flags(p.begin_mask),
    flags(p.end_mask),
    flags(p.squeeze_mask),
  ]
  if ((p.stride && !stride) || !bm || !em || !sm) return undefined
  const axes = sliceAxes(shape, begin, end, stride, bm, em, sm)
  if (typeof axes === 'string' || axes.some((a) => a.step !== 1 || a.squeeze)) return undefined
  return axes.map((a) => [a.start, a.start + a.count])
}

/** True when `ranges` take all of every axis of `shape` but `axis`, and [lo, hi) there. */
function takes(
  ranges: [number, number][],
  shape: readonly number[],
  axis: number,
  lo: number,
  hi: number,
) {
  return ranges.every(([b, e], i) =>
    i === axis ? b === lo && e === hi : b === 0 && e === shape[i],
  )
}

/** A plain concat of two values along a const axis: its values and that axis (maybe negative). */
function pairConcat(g: Graph, cat: Operation) {
  const { values, axis, interleave } = cat.inputs as {
    values: Var[]
    axis: Var
    interleave?: Var
  }
  const ax = g.ints(axis)
  if (values.length !== 2 || ax?.length !== 1 || (interleave && !g.isConst(interleave, 0)))
    return undefined
  return { values, axis: ax[0] }
}

/** Matches at the concat([h, −h]) feeding a layer_norm. */
function matchRmsNorm(g: Graph, neg: Operation): Match | undefined {
  if (neg.type !== 'mul' || neg.outputs.length !== 1) return undefined
  const negV = neg.outputs[0]
  const cat = g.soleUser(negV, 'concat')
  const pair = cat && pairConcat(g, cat)
  if (!pair || pair.values[1] !== negV || !negOf(g, neg, pair.values[0])) return undefined
  const h = pair.values[0]
  const shape = shapeOf(h)
  if (!shape || !fp16(h)) return undefined
  const axis = axisIn(pair.axis, shape.length)
  const n = shape[axis]
  const ln = g.soleUser(cat.outputs[0], 'layer_norm')
  if (!ln || ln.inputs.gamma || ln.inputs.beta) return undefined
  const lnAxes = g.ints(ln.inputs.axes as Var)?.map((a) => axisIn(a, shape.length))
  if (lnAxes?.length !== 1 || lnAxes[0] !== axis) return undefined
  const half = g.soleUser(ln.outputs[0], 'slice_by_index')
  if (!half) return undefined
  const pairShape = shape.map((d, i) => (i === axis ? 2 * d : d))
  const r = sliceRanges(g, half, ln.outputs[0])
  if (!r || !takes(r, pairShape, axis, 0, n)) return undefined
  const scale = g.soleUser(half.outputs[0], 'mul')
  const w = scale && g.other(scale, half.outputs[0])
  // a plain float gain (not a palettized or fp16-bits weight: the kernel reads its floats)
  const wt = w && g.constOf(w)
  const out = scale && shapeOf(scale.outputs[0])
  if (!scale || !w || !wt || !out || !same(out, shape) || !alongAxis(wt.shape, shape, axis))
    return undefined
  if (wt instanceof LutWeight || wt instanceof HalfWeight || !(wt.data instanceof Float32Array))
    return undefined
  const inputs: Record<string, Var> = { x: h, weight: w, axes: ln.inputs.axes as Var }
  if (ln.inputs.epsilon) inputs.epsilon = ln.inputs.epsilon as Var
  return {
    chain: [neg, cat, ln, half, scale],
    last: scale,
    fused: fused(FUSED_RMS_NORM, scale, inputs),
  }
}

/** True when a const of shape w broadcasts against x as one value per index of x's `axis`. */
function alongAxis(w: readonly number[], x: readonly number[], axis: number) {
  const off = x.length - w.length
  if (off < 0) return false
  return w.every((d, i) => (i + off === axis ? d === x[axis] : d === 1))
}

/** Matches at the slice taking x's first half of the last axis. */
function matchRotateHalf(g: Graph, s1: Operation): Match | undefined {
  if (s1.type !== 'slice_by_index') return undefined
  const x = s1.inputs.x as Var
  const shape = x && shapeOf(x)
  if (!shape || !fp16(x)) return undefined
  const last = shape.length - 1
  const D = shape[last]
  if (D % 2) return undefined
  const r1 = sliceRanges(g, s1, x)
  if (!r1 || !takes(r1, shape, last, 0, D / 2)) return undefined
  const cat = g.soleUser(s1.outputs[0], 'concat')
  const pair = cat && pairConcat(g, cat)
  if (!cat || !pair || pair.values[1] !== s1.outputs[0]) return undefined
  if (axisIn(pair.axis, shape.length) !== last) return undefined
  const neg = pair.values[0].producer
  if (!neg || g.soleUser(pair.values[0], 'concat') !== cat) return undefined
  const x2 =
    neg.type === 'mul'
      ? ([neg.inputs.x, neg.inputs.y].find(
          (v) => (v as Var).producer?.type === 'slice_by_index',
        ) as Var | undefined)
      : undefined
  const s2 = x2?.producer
  if (!x2 || !s2 || !negOf(g, neg, x2) || s2.inputs.x !== x || g.soleUser(x2, 'mul') !== neg)
    return undefined
  const r2 = sliceRanges(g, s2, x)
  if (!r2 || !takes(r2, shape, last, D / 2, D)) return undefined
  // rot · sin, x · cos, and their sum
  const rot = cat.outputs[0]
  const mulSin = g.soleUser(rot, 'mul')
  const sin = mulSin && g.other(mulSin, rot)
  if (!mulSin || !sin || !tableFor(sin, shape)) return undefined
  const add = g.soleUser(mulSin.outputs[0], 'add')
  const a = add && g.other(add, mulSin.outputs[0])
  const mulCos = a?.producer
  if (!add || !a || mulCos?.type !== 'mul' || g.soleUser(a, 'add') !== add) return undefined
  const cos = g.other(mulCos, x)
  const out = shapeOf(add.outputs[0])
  if (!cos || !tableFor(cos, shape) || !out || !same(out, shape)) return undefined
  return {
    chain: [s1, s2, neg, cat, mulSin, mulCos, add],
    last: add,
    fused: fused(FUSED_ROTATE_HALF, add, { x, cos, sin }),
  }
}

/**
 * A cos/sin table: fp16, shaped as x's trailing dims (D last) after leading 1s, so that its
 * broadcast over x repeats it with period numel(table).
 */
function tableFor(t: Var, x: readonly number[]) {
  const s = shapeOf(t)
  if (!s || !fp16(t) || s.length > x.length || s[s.length - 1] !== x[x.length - 1]) return false
  const off = x.length - s.length
  let k = 0
  while (k < s.length - 1 && s[k] === 1) k++
  return s.slice(k).every((d, i) => d === x[off + k + i])
}

// ---- the fused kernels ----------------------------------------------------------------------

type F32 = Float32Array

/** layer_norm over [h, −h] along the axis, its first half, times the weight (fp16 between). */
export const rmsNormPair: Kernel = (k) => {
  const x = k.in('x')
  const w = k.in('weight').data
  const shape = x.shape
  const axis = axisIn(k.ints('axes')[0], shape.length)
  const n = shape[axis]
  let s = 1
  for (let i = axis + 1; i < shape.length; i++) s *= shape[i]
  const out = k.alloc(k.outDType(), shape)
  if (!(
    x.data instanceof Float32Array &&
    out.data instanceof Float32Array &&
    w instanceof Float32Array
  ))
    return k.fail('expects float tensors')
  const eps = k.float('epsilon', 1e-5)
  const outer = numel(shape) / (n * s)
  const nk = nativeKernels()
  if (nk) nk.rmsPair(x.data, out.data, w, outer, n, s, eps)
  else {
    noteJsWork()
    const ln = k.scratch(n * s, 0)
    for (let o = 0; o < outer; o++) rmsBlock(x.data, out.data, w, ln, o * n * s, n, s, eps)
  }
  return [out]
}

/**
 * One [n, s] block (n along the axis, s contiguous): layer_norm's arithmetic over the 2n pair
 * elements h then −h, per column r, in the order the layer_norm kernel sums them (the columns are
 * walked side by side so reads stay contiguous; sums are doubles, as there).
 */
export function rmsBlock(
  xd: F32,
  od: F32,
  w: F32,
  ln: F32,
  b: number,
  n: number,
  s: number,
  eps: number,
) {
  const mean = new Float64Array(s)
  const v = new Float64Array(s)
  for (let i = 0; i < n; i++) for (let r = 0; r < s; r++) mean[r] += xd[b + i * s + r]
  for (let i = 0; i < n; i++) for (let r = 0; r < s; r++) mean[r] += -xd[b + i * s + r]
  for (let r = 0; r < s; r++) mean[r] /= 2 * n
  for (let i = 0; i < n; i++)
    for (let r = 0; r < s; r++) {
      const d = xd[b + i * s + r] - mean[r]
      v[r] += d * d
    }
  for (let i = 0; i < n; i++)
    for (let r = 0; r < s; r++) {
      const d = -xd[b + i * s + r] - mean[r]
      v[r] += d * d
    }
  for (let r = 0; r < s; r++) v[r] = 1 / Math.sqrt(v[r] / (2 * n) + eps)
  for (let i = 0; i < n; i++)
    for (let r = 0; r < s; r++) ln[i * s + r] = (xd[b + i * s + r] - mean[r]) * v[r] + 0
  roundHalfInPlace(ln)
  for (let i = 0; i < n; i++) {
    const wi = w[i]
    for (let r = 0; r < s; r++) od[b + i * s + r] = ln[i * s + r] * wi
  }
}

/** x·cos + rotate_half(x)·sin, each product rounded to fp16 as its own op would be. */
export const rotateHalf: Kernel = (k) => {
  const x = k.in('x').data
  const cos = k.in('cos').data
  const sin = k.in('sin').data
  const out = k.alloc(k.outDType(), k.in('x').shape)
  const od = out.data
  const D = k.in('x').shape.at(-1)!
  if (
    !(x instanceof Float32Array && od instanceof Float32Array) ||
    !(cos instanceof Float32Array && sin instanceof Float32Array)
  )
    return k.fail('expects float tensors')
  const nk = nativeKernels()
  if (nk) nk.rope(x, cos, sin, od, D)
  else {
    noteJsWork()
    rotate(x, cos, sin, od, D, k.scratch(x.length, 0), k.scratch(x.length, 1))
  }
  return [out]
}

function rotate(xd: F32, cos: F32, sin: F32, od: F32, D: number, a: F32, b: F32) {
  const h = D / 2
  const N = xd.length
  const T = cos.length // the tables repeat every T elements of x (tableFor)
  for (let base = 0; base < N; base += D) {
    const t = base % T
    for (let j = 0; j < h; j++) {
      a[base + j] = xd[base + j] * cos[t + j]
      b[base + j] = -xd[base + j + h] * sin[t + j]
    }
    for (let j = h; j < D; j++) {
      a[base + j] = xd[base + j] * cos[t + j]
      b[base + j] = xd[base + j - h] * sin[t + j]
    }
  }
  roundHalfInPlace(a)
  roundHalfInPlace(b)
  for (let i = 0; i < N; i++) od[i] = a[i] + b[i]
}
