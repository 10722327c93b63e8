// Attention over a fixed-size KV cache, fused so that it skips the cache positions the causal mask
// hides. ANE graphs attend over the whole context (a static shape) and mask what is not filled
// yet; with a 512-position cache, a decode step at position 100 would otherwise multiply, add and
// exponentiate 412 columns whose softmax weight is exactly 0.
//
//   matmul(q, k, transpose_y) → [reshape] → add(mask) → softmax(last axis) → [reshape] →
//   matmul(·, v)
//
// The fused kernel finds L, one past the last mask column that is not −∞ in any row, rounds it up
// to a multiple of 32 (≤ the context), and runs the same chain on the first L columns only: the
// same product kernels, the same fp16 roundings, the same softmax. The bits equal the unfused
// chain's: a −∞ column adds exp(−∞) = 0 to the softmax sum and 0 · v to every context element
// (both exact), and the product kernels sum each output in the same order whatever the count of
// columns (the rounding to 32 keeps their vector lanes aligned as well). This holds while the
// masked keys and values are finite, as cache contents are (an infinite one would make the unfused
// row NaN). Decoding (at most 4 query rows per matrix) runs the whole chain in one native call
// that computes each matrix on the pool with the same kernels (native/kernels attention_f32).
import type { Operation, Var } from '../mil/program.js'
import { fp16, fused, same, shapeOf, type Graph, type Match } from './fuse-graph.js'
import { gemm, transpose2d } from './gemm.js'
import type { Kernel, KernelCall } from './kernel.js'
import { softmaxRows } from './kernels/activation.js'
import { nativeKernels, noteJsWork } from './native.js'
import { roundHalf } from './round.js'
import { numel, stridesOf } from './tensor.js'

type F32 = Float32Array

export const FUSED_ATTENTION = 'anemll.masked_attention'

/** Columns are skipped in blocks of this many (the product kernels' widest vector step). */
const COLUMN_BLOCK = 32

interface AttentionOp extends Operation {
  /** The shape the scores are masked and normalized in (after the optional reshape). */
  readonly headsShape: readonly number[]
}

/** True when the const flag v is `value` (an absent flag is false). */
function flag(g: Graph, v: Var | undefined, value: boolean) {
  if (!v) return !value
  const t = g.ints(v)
  return t?.length === 1 && (t[0] !== 0) === value
}

/** The single reshape reading v that keeps its last dim, or undefined. */
function reshapeKeepingLast(g: Graph, v: Var) {
  const r = g.soleUser(v, 'reshape')
  const s = r && shapeOf(r.outputs[0])
  return r && s && s.at(-1) === shapeOf(v)!.at(-1) ? r : undefined
}

/** Matches at the scores matmul. */
export function matchAttention(g: Graph, mm1: Operation): Match | undefined {
  if (mm1.type !== 'matmul' || mm1.outputs.length !== 1) return undefined
  const { x: q, y: k } = mm1.inputs as { x?: Var; y?: Var }
  const [qs, ks] = [q && shapeOf(q), k && shapeOf(k)]
  if (!q || !k || !qs || !ks || !fp16(q) || !fp16(k) || qs.length < 2) return undefined
  if (!flag(g, mm1.inputs.transpose_y as Var, true)) return undefined
  if (!flag(g, mm1.inputs.transpose_x as Var, false)) return undefined
  const batch = qs.slice(0, -2)
  const [M, D, C] = [qs.at(-2)!, qs.at(-1)!, ks.at(-2)!]
  if (!same(ks, [...batch, C, D])) return undefined
  const scores = mm1.outputs[0]
  const chain = [mm1]
  const r1 = reshapeKeepingLast(g, scores)
  if (r1) chain.push(r1)
  const heads = r1 ? r1.outputs[0] : scores
  const headsShape = shapeOf(heads)
  const add = g.soleUser(heads, 'add')
  const mask = add && g.other(add, heads)
  const ms = mask && shapeOf(mask)
  if (!headsShape || !add || !mask || !ms || !fp16(mask) || !broadcastsOnto(ms, headsShape))
    return undefined
  if (ms.at(-1) !== C || !same(shapeOf(add.outputs[0]) ?? [], headsShape)) return undefined
  const sm = g.soleUser(add.outputs[0], 'softmax')
  const axis = sm && g.ints(sm.inputs.axis as Var)
  if (!sm || axis?.length !== 1 || (axis[0] !== -1 && axis[0] !== headsShape.length - 1))
    return undefined
  chain.push(add, sm)
  const r2 = reshapeKeepingLast(g, sm.outputs[0])
  if (r2) chain.push(r2)
  const probs = r2 ? r2.outputs[0] : sm.outputs[0]
  if (!same(shapeOf(probs) ?? [], [...batch, M, C])) return undefined
  const mm2 = g.soleUser(probs, 'matmul')
  const v = mm2?.inputs.y as Var | undefined
  const vs = v && shapeOf(v)
  if (!mm2 || mm2.inputs.x !== probs || !v || !vs || !fp16(v) || vs.length !== qs.length)
    return undefined
  if (!flag(g, mm2.inputs.transpose_x as Var, false)) return undefined
  if (!flag(g, mm2.inputs.transpose_y as Var, false)) return undefined
  if (!same(vs.slice(0, -1), [...batch, C])) return undefined
  chain.push(mm2)
  const op: AttentionOp = { ...fused(FUSED_ATTENTION, mm2, { q, k, v, mask }), headsShape }
  return { chain, last: mm2, fused: op }
}

/** True when shape a broadcasts onto b without changing b (rank ≤, each dim 1 or equal). */
function broadcastsOnto(a: readonly number[], b: readonly number[]) {
  const off = b.length - a.length
  return off >= 0 && a.every((d, i) => d === 1 || d === b[off + i])
}

/** The kernel's shape plan (memoized per step). */
function attentionPlan(
  q: readonly number[],
  k: readonly number[],
  v: readonly number[],
  mask: readonly number[],
  heads: readonly number[],
) {
  const [M, D, C, Dv] = [q.at(-2)!, q.at(-1)!, k.at(-2)!, v.at(-1)!]
  const mats = numel(q.slice(0, -2))
  const rows = mats * M
  // mask element offset of each scores row (heads-shape row order = scores row order)
  const ms = stridesOf(mask)
  const off = heads.length - mask.length
  const maskRow = new Int32Array(rows)
  const hs = heads.slice(0, -1)
  const hStrides = stridesOf(hs)
  for (let r = 0; r < rows; r++) {
    let o = 0
    for (let i = 0; i < hs.length; i++) {
      const j = i - off
      if (j < 0 || mask[j] === 1) continue
      o += (Math.floor(r / hStrides[i]) % hs[i]) * ms[j]
    }
    maskRow[r] = o
  }
  // the mask's strides over the heads shape's leading dims (0 where it broadcasts)
  const maskStrides = hs.map((_, i) => (i - off < 0 || mask[i - off] === 1 ? 0 : ms[i - off]))
  const outShape = [...q.slice(0, -1), Dv]
  return { M, D, C, Dv, mats, rows, maskRow, maskStrides, hs, size: rows * C, outShape }
}

type AttentionPlan = ReturnType<typeof attentionPlan>

/** The native `binary` plan adding the first L mask columns to [rows, L] scores, per width. */
const addPlans = new WeakMap<AttentionPlan, Map<number, Int32Array[]>>()
function maskAddPlan(p: AttentionPlan, L: number): Int32Array[] {
  let byWidth = addPlans.get(p)
  if (!byWidth) addPlans.set(p, (byWidth = new Map()))
  let plan = byWidth.get(L)
  if (!plan) {
    const dims = [...p.hs, L]
    plan = [
      Int32Array.from(dims),
      Int32Array.from(stridesOf(dims)),
      Int32Array.from([...p.maskStrides, 1]),
    ]
    byWidth.set(L, plan)
  }
  return plan
}

/** One past the last column of the [·, C] mask that is not −∞ in some row, in whole blocks. */
export function liveColumns(mask: ArrayLike<number>, C: number): number {
  let live = 0
  for (let base = 0; base < mask.length && live < C; base += C)
    for (let c = C - 1; c >= live; c--)
      if (mask[base + c] !== -Infinity) {
        live = c + 1
        break
      }
  return Math.min(C, Math.max(1, Math.ceil(live / COLUMN_BLOCK)) * COLUMN_BLOCK)
}

const QKVM = ['q', 'k', 'v', 'mask']

export const maskedAttention: Kernel = (k) => {
  const [q, key, v, mask] = QKVM.map((p) => k.in(p))
  const p = k.memo(QKVM, () =>
    attentionPlan(q.shape, key.shape, v.shape, mask.shape, (k.op as AttentionOp).headsShape),
  )
  const out = k.alloc(k.outDType(), p.outShape)
  const [qd, kd, vd, md, od] = [q, key, v, mask, out].map((t) => t.data)
  if (![qd, kd, vd, md, od].every((d) => d instanceof Float32Array))
    return k.fail('expects float tensors')
  const { M, D, C, Dv, mats, rows, maskRow } = p
  const nka = M <= 4 && Dv > 1 ? nativeKernels() : undefined
  if (nka) {
    // decoding: the whole chain per matrix in one native call, the matrices on the pool; L = 0:
    // it finds the live columns (liveColumns) itself, so a tape replays it as the mask moves
    nka.attention(
      qd as F32,
      kd as F32,
      vd as F32,
      md as F32,
      maskRow,
      od as F32,
      mats,
      M,
      D,
      C,
      Dv,
      0,
    )
    return [out]
  }
  noteJsWork()
  const L = liveColumns(md, p.C)
  // scores [mats, M, L], masked in place, then the probabilities
  const s = k.scratch(rows * L, 0)
  const pr = k.scratch(rows * L, 1)
  scoresInto(qd as Float32Array, kd as Float32Array, s, mats, M, D, C, L)
  roundHalf(s)
  const m = md as Float32Array
  // prefill-sized blocks: the native add (bit for bit as the loop) whenever it is built
  const nk = nativeKernels()
  if (nk) {
    // in place: the native add walks the output in order, reading each score just before
    const [dims, sx, sy] = maskAddPlan(p, L)
    nk.binary(0, s, m, s, dims, sx, sy)
  } else
    for (let r = 0; r < rows; r++) {
      const [so, mo] = [r * L, maskRow[r]]
      for (let c = 0; c < L; c++) s[so + c] = s[so + c] + m[mo + c]
    }
  roundHalf(s)
  softmaxRows(s, pr, rows, L, p.size)
  roundHalf(pr)
  contextInto(k, pr, vd as Float32Array, od as Float32Array, mats, M, C, Dv, L)
  return [out]
}

/** s[b] = q[b] · k[b][:L]ᵀ for every matrix b, as the matmul kernel computes it (k as [N, K] rows). */
function scoresInto(
  q: Float32Array,
  key: Float32Array,
  s: Float32Array,
  mats: number,
  M: number,
  D: number,
  C: number,
  L: number,
) {
  for (let b = 0; b < mats; b++)
    gemm({
      a: q,
      aOff: b * M * D,
      b: key,
      bOff: b * C * D,
      out: s,
      outOff: b * M * L,
      M,
      N: L,
      K: D,
    })
}

/** o[b] = p[b] · v[b][:L] for every matrix b, as the matmul kernel computes it. */
function contextInto(
  k: KernelCall,
  p: Float32Array,
  v: Float32Array,
  o: Float32Array,
  mats: number,
  M: number,
  C: number,
  Dv: number,
  L: number,
) {
  const nk = nativeKernels()
  // the matmul kernel reads a one-column v as [1, K] rows, a wider one in [K, N] layout
  const [ldb, kn] = Dv === 1 ? [L, 0] : [Dv, 1]
  if (nk) {
    for (let b = 0; b < mats; b++)
      nk.gemm(p, b * M * L, L, M, Dv, L, o, b * M * Dv, Dv, 1, null, 0, v, b * C * Dv, ldb, kn)
    return
  }
  // the TypeScript matmul transposes a [K, N] operand into [N, K] first
  const t = Dv === 1 ? v : k.scratch(mats * L * Dv, 2)
  for (let b = 0; b < mats; b++) {
    const vOff = b * C * Dv
    if (Dv > 1) transpose2d(v, vOff, L, Dv, t, b * L * Dv)
    const bOff = Dv > 1 ? b * L * Dv : vOff
    gemm({ a: p, aOff: b * M * L, b: t, bOff, out: o, outOff: b * M * Dv, M, N: Dv, K: L })
  }
}
