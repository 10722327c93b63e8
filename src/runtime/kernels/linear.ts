// conv, linear, matmul (format doc §6.2–§6.4). All three reduce to gemmNT (C = A·Bᵀ); conv
// builds the A side with im2col unless it is a plain 1×1 conv, which is a matrix product as is.
import { gemm, gemmNTRows, transpose2d, type GemmArgs } from '../gemm.js'
import { HalfWeight } from '../half.js'
import { LutWeight } from '../lut.js'
import { nativeKernels, noteJsWork } from '../native.js'
import type { Kernel, KernelCall } from '../kernel.js'
import { numel, shapeText, stridesOf, type NumericTensor } from '../tensor.js'

const linear: Kernel = (k) => {
  const x = k.in('x')
  const w = k.in('weight')
  const bias = k.opt('bias')
  const [N, K] = w.shape
  const din = x.shape[x.shape.length - 1]
  if (w.shape.length !== 2 || din !== K)
    k.fail(`x ${shapeText(x.shape)} does not match weight ${shapeText(w.shape)}`)
  const out = k.alloc(k.outDType(), [...x.shape.slice(0, -1), N])
  const M = K === 0 ? 0 : x.data.length / K
  product(k, w, 0, { a: x.data, aOff: 0, out: out.data, outOff: 0, M, N, K, bias: bias?.data })
  return [out]
}

/** out = A · W[row0 .. row0+N)ᵀ for a dense, fp16 (HalfWeight) or packed (LUT) weight. */
function product(k: KernelCall, w: NumericTensor, row0: number, g: Omit<GemmArgs, 'b' | 'bOff'>) {
  if (nativeProduct(w, row0, g)) return
  if (w instanceof LutWeight) noteJsWork() // gemm() notes its own TypeScript path
  if (w instanceof LutWeight && g.M === 1 && w.rowTables) {
    w.gemv(g.a, g.aOff, row0, g.N, g.out, g.outOff, g.colStride ?? 1, g.bias)
  } else if (w instanceof LutWeight) {
    const rows = {
      readRows: (n: number, c: number, dst: Float32Array) => w.readRows(row0 + n, c, dst),
    }
    gemmNTRows({ ...g, b: EMPTY, bOff: 0 }, rows, k.scratch(8 * g.K, 2))
  } else gemm({ ...g, b: w.data, bOff: row0 * g.K })
}

/**
 * An fp16 or packed weight's product on the native kernels, reading the weight as it is held
 * (fp16 bits, packed indices); false when there are none or the weight or arrays do not fit.
 */
function nativeProduct(w: NumericTensor, row0: number, g: Omit<GemmArgs, 'b' | 'bOff'>) {
  const nk = nativeKernels()
  const { a, out, bias, K, M, N } = g
  if (!nk || !(a instanceof Float32Array) || !(out instanceof Float32Array)) return false
  if (bias && !(bias instanceof Float32Array)) return false
  const [rs, cs, b] = [g.rowStride ?? N, g.colStride ?? 1, bias ?? null]
  if (w instanceof HalfWeight) {
    nk.hgemm(a, g.aOff, K, M, N, K, out, g.outOff, rs, cs, b, 0, w.bits, row0 * K, K)
    return true
  }
  const lay = w instanceof LutWeight ? w.nativeLayout : undefined
  if (!lay) return false
  nk.lutGemm(
    a,
    g.aOff,
    K,
    M,
    N,
    K,
    out,
    g.outOff,
    rs,
    cs,
    b,
    0,
    lay.bytes,
    lay.bits,
    lay.lut,
    lay.rowsPerGroup,
    row0,
    M === 1 ? (w as LutWeight).indexBytes6 : undefined,
  )
  return true
}

const EMPTY = new Float32Array(0)

/** A matmul operand as a batch of [rows, cols] matrices, after its optional transpose. */
interface Operand {
  readonly t: NumericTensor
  readonly batch: number[]
  readonly rows: number
  readonly cols: number
  readonly transposed: boolean
}

function operand(
  k: KernelCall,
  t: NumericTensor,
  transpose: boolean,
  vectorAs: 'row' | 'col',
): Operand {
  const s = t.shape
  if (s.length === 0) k.fail('matmul operands must have rank >= 1')
  if (s.length === 1) {
    if (transpose) k.fail('cannot transpose a rank-1 operand')
    const n = s[0]
    return vectorAs === 'row'
      ? { t, batch: [], rows: 1, cols: n, transposed: false }
      : { t, batch: [], rows: n, cols: 1, transposed: false }
  }
  const r = s[s.length - 2]
  const c = s[s.length - 1]
  return {
    t,
    batch: s.slice(0, -2),
    rows: transpose ? c : r,
    cols: transpose ? r : c,
    transposed: transpose,
  }
}

/** Batch broadcasting: the output batch shape and each operand's matrix index per output batch. */
function batchIndex(k: KernelCall, a: number[], b: number[]) {
  const r = Math.max(a.length, b.length)
  const shape: number[] = []
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1
    const y = b[b.length - r + i] ?? 1
    if (x !== y && x !== 1 && y !== 1)
      k.fail(`batch dims ${shapeText(a)} and ${shapeText(b)} do not broadcast`)
    shape.push(x === 1 ? y : x)
  }
  const idx = (dims: number[]) => {
    const st = stridesOf(dims)
    const total = numel(shape)
    const out = new Int32Array(total)
    const os = stridesOf(shape)
    for (let q = 0; q < total; q++) {
      let off = 0
      for (let i = 0; i < r; i++) {
        const j = i - (r - dims.length)
        if (j < 0 || dims[j] === 1) continue
        off += (Math.floor(q / os[i]) % shape[i]) * st[j]
      }
      out[q] = off
    }
    return out
  }
  return { shape, ai: idx(a), bi: idx(b) }
}

const XY = ['x', 'y']

/** matmul's shape-derived plan (memoized per step). */
function matmulPlan(k: KernelCall) {
  const xa = operand(k, k.in('x'), k.bool('transpose_x', false), 'row')
  const ya = operand(k, k.in('y'), k.bool('transpose_y', false), 'col')
  const M = xa.rows
  const K = xa.cols
  const N = ya.cols
  if (ya.rows !== K)
    k.fail(`inner dims differ: x ${shapeText(xa.t.shape)} vs y ${shapeText(ya.t.shape)}`)
  const { shape: batch, ai, bi } = batchIndex(k, xa.batch, ya.batch)
  const outShape = [...batch]
  if (xa.t.shape.length > 1) outShape.push(M)
  if (ya.t.shape.length > 1) outShape.push(N)
  const strip = (o: Operand) => ({ ...o, t: undefined })
  return { xa: strip(xa), ya: strip(ya), M, K, N, ai, bi, outShape }
}

const matmul: Kernel = (k) => {
  const p = k.memo(XY, () => matmulPlan(k))
  const { M, K, N, ai, bi, outShape } = p
  const xa = { ...p.xa, t: k.in('x') }
  const ya = { ...p.ya, t: k.in('y') }
  const out = k.alloc(k.outDType(), outShape)
  // gemmNT wants A [M, K] and B [N, K]: transpose x only if transpose_x, y unless transpose_y.
  const mats = (o: Operand) => numel(o.batch)
  let A = xa.t.data
  if (xa.transposed) {
    const s = k.scratch(xa.t.data.length, 0)
    for (let q = 0; q < mats(xa); q++) transpose2d(xa.t.data, q * M * K, K, M, s, q * M * K)
    A = s
  }
  const nk = nativeKernels()
  const yd = ya.t.data
  if (
    nk &&
    A instanceof Float32Array &&
    yd instanceof Float32Array &&
    out.data instanceof Float32Array
  ) {
    // the native kernel reads y as it is: [N, K] rows when transposed, else [K, N]
    const od = out.data
    for (let q = 0; q < ai.length; q++)
      nk.gemm(
        A,
        ai[q] * M * K,
        K,
        M,
        N,
        K,
        od,
        q * M * N,
        N,
        1,
        null,
        0,
        yd,
        bi[q] * K * N,
        ya.transposed || N === 1 ? K : N,
        ya.transposed || N === 1 ? 0 : 1,
      )
    return [out]
  }
  let B = ya.t.data
  if (!ya.transposed && N > 1) {
    const s = k.scratch(ya.t.data.length, 1)
    for (let q = 0; q < mats(ya); q++) transpose2d(ya.t.data, q * K * N, K, N, s, q * K * N)
    B = s
  }
  for (let q = 0; q < ai.length; q++) {
    gemm({
      a: A,
      aOff: ai[q] * M * K,
      b: B,
      bOff: bi[q] * K * N,
      out: out.data,
      outOff: q * M * N,
      M,
      N,
      K,
    })
  }
  return [out]
}

/** Spatial geometry of a conv: output sizes and the padding before each spatial dim. */
function convGeometry(k: KernelCall, x: readonly number[], w: readonly number[]) {
  const s = x.length - 2
  const strides = k.ints('strides', new Array<number>(s).fill(1))
  const dil = k.ints('dilations', new Array<number>(s).fill(1))
  const pad = k.ints('pad', new Array<number>(2 * s).fill(0))
  const padType = k.str('pad_type', 'valid')
  const out: number[] = []
  const before: number[] = []
  for (let i = 0; i < s; i++) {
    const d = x[i + 2]
    const keff = (w[i + 2] - 1) * dil[i] + 1
    let total: number
    let pb: number
    if (padType === 'same' || padType === 'same_lower') {
      total = Math.max(0, (Math.ceil(d / strides[i]) - 1) * strides[i] + keff - d)
      pb = padType === 'same' ? Math.floor(total / 2) : Math.ceil(total / 2)
    } else if (padType === 'custom') {
      total = pad[2 * i] + pad[2 * i + 1]
      pb = pad[2 * i]
    } else if (padType === 'valid') {
      total = 0
      pb = 0
    } else return k.fail(`unknown pad_type '${padType}'`)
    const o = Math.floor((d + total - keff) / strides[i]) + 1
    if (o < 1) k.fail(`kernel ${shapeText(w)} does not fit x ${shapeText(x)}`)
    out.push(o)
    before.push(pb)
  }
  return { out, before, strides, dil }
}

const CONV_DATA = ['x', 'weight', 'bias']

const conv: Kernel = (k) => {
  const x = k.in('x')
  const w = k.in('weight')
  const bias = k.opt('bias')
  const groups = k.int('groups', 1)
  const [Nb, C] = x.shape
  const O = w.shape[0]
  const Cg = w.shape[1]
  if (w.shape.length !== x.shape.length || C !== Cg * groups || O % groups)
    k.fail(
      `weight ${shapeText(w.shape)} does not fit x ${shapeText(x.shape)} with groups ${groups}`,
    )
  const g = k.memo(CONV_DATA, () => convGeometry(k, x.shape, w.shape))
  const out = k.alloc(k.outDType(), [Nb, O, ...g.out])
  const P = numel(g.out)
  const Pin = numel(x.shape.slice(2))
  const kern = w.shape.slice(2)
  const Kp = numel(kern)
  const Og = O / groups
  const pointwise = Kp === 1 && g.before.every((b) => b === 0) && g.strides.every((s) => s === 1)
  if (pointwise) {
    // [C, P] per batch: out[o, p] = Σ_c w[o, c] x[c, p]; A = xᵀ [P, C] (no copy when P = 1)
    for (let n = 0; n < Nb; n++) {
      for (let gi = 0; gi < groups; gi++) {
        const xo = n * C * Pin + gi * Cg * Pin
        let A = x.data
        let aOff = xo
        if (P > 1) {
          A = k.scratch(P * Cg, 0)
          transpose2d(x.data, xo, Cg, P, A, 0)
          aOff = 0
        }
        product(k, w, gi * Og, {
          a: A,
          aOff,
          out: out.data,
          outOff: (n * O + gi * Og) * P,
          M: P,
          N: Og,
          K: Cg,
          rowStride: 1,
          colStride: P,
          bias: bias?.data.subarray(gi * Og),
        })
      }
    }
    return [out]
  }
  noteJsWork()
  const offs = im2colOffsets(x.shape.slice(2), kern, g)
  const cols = k.scratch(P * Cg * Kp, 0)
  for (let n = 0; n < Nb; n++) {
    for (let gi = 0; gi < groups; gi++) {
      const xo = n * C * Pin + gi * Cg * Pin
      // cols [P, Cg·Kp]: row p holds every input value output p sees, in weight order
      for (let p = 0; p < P; p++) {
        for (let c = 0; c < Cg; c++) {
          const dst = p * Cg * Kp + c * Kp
          const src = xo + c * Pin
          for (let q = 0; q < Kp; q++) {
            const off = offs[p * Kp + q]
            cols[dst + q] = off < 0 ? 0 : x.data[src + off]
          }
        }
      }
      gemm({
        a: cols,
        aOff: 0,
        b: w.data,
        bOff: gi * Og * Cg * Kp,
        out: out.data,
        outOff: (n * O + gi * Og) * P,
        M: P,
        N: Og,
        K: Cg * Kp,
        rowStride: 1,
        colStride: P,
        bias: bias?.data.subarray(gi * Og),
      })
    }
  }
  return [out]
}

/** For output position p and kernel position q: the input offset within a channel, or -1 (padding). */
function im2colOffsets(
  inDims: number[],
  kern: number[],
  g: { out: number[]; before: number[]; strides: number[]; dil: number[] },
): Int32Array {
  const s = inDims.length
  const P = numel(g.out)
  const Kp = numel(kern)
  const inStr = stridesOf(inDims)
  const outStr = stridesOf(g.out)
  const kStr = stridesOf(kern)
  const offs = new Int32Array(P * Kp)
  for (let p = 0; p < P; p++) {
    for (let q = 0; q < Kp; q++) {
      let off = 0
      for (let d = 0; d < s; d++) {
        const op = Math.floor(p / outStr[d]) % g.out[d]
        const kq = Math.floor(q / kStr[d]) % kern[d]
        const i = op * g.strides[d] + kq * g.dil[d] - g.before[d]
        if (i < 0 || i >= inDims[d]) {
          off = -1
          break
        }
        off += i * inStr[d]
      }
      offs[p * Kp + q] = off
    }
  }
  return offs
}

/** conv, linear, matmul. */
export const LINEAR: Record<string, Kernel> = { conv, linear, matmul }
