// The one matrix product every conv/linear/matmul kernel reduces to: C = A · Bᵀ with A [M, K] and
// B [N, K] both row-major ("NT"), so each output is a dot product of two contiguous rows. Linear
// and 1×1-conv weights are B ([D_out, D_in]), so a weight streams through the cache once per call.
// gemmNTNaive is the reference the register-blocked gemmNT is checked against.
import { nativeFor, nativeKernels, noteJsWork } from './native.js'
import type { NumericData } from './tensor.js'

export interface GemmArgs {
  readonly a: NumericData
  readonly aOff: number
  readonly b: NumericData
  readonly bOff: number
  readonly out: NumericData
  readonly outOff: number
  readonly M: number
  readonly N: number
  readonly K: number
  /** Output element (m, n) goes to outOff + m·rowStride + n·colStride (defaults N, 1). */
  readonly rowStride?: number
  readonly colStride?: number
  /** Added to column n. */
  readonly bias?: NumericData
}

/** Reference: one dot product per output, float64 accumulation, bias added last. */
export function gemmNTNaive(g: GemmArgs): void {
  const rs = g.rowStride ?? g.N
  const cs = g.colStride ?? 1
  for (let m = 0; m < g.M; m++) {
    for (let n = 0; n < g.N; n++) {
      let s = 0
      for (let k = 0; k < g.K; k++) s += g.a[g.aOff + m * g.K + k] * g.b[g.bOff + n * g.K + k]
      g.out[g.outOff + m * rs + n * cs] = s + (g.bias ? g.bias[n] : 0)
    }
  }
}

/**
 * C = A · Bᵀ (+ bias), float64 accumulation. B rows go in blocks of four (eight when A is one
 * row, the decode case) against two rows of A at a time: each B block is read once per call
 * and stays in L1 while every row of A passes it.
 */
export function gemmNT(g: GemmArgs): void {
  const { M, N, K, bOff } = g
  let n = 0
  if (M === 1) for (; n + 8 <= N; n += 8) row1x8(g, n, bOff + n * K)
  for (; n + 4 <= N; n += 4) {
    let m = 0
    for (; m + 2 <= M; m += 2) block2x4(g, m, n, bOff + n * K)
    if (m < M) block1x4(g, m, n, bOff + n * K)
  }
  for (; n < N; n++) for (let m = 0; m < M; m++) dot1(g, m, n, bOff + n * K)
}

/**
 * gemmNT on the native kernels when they are built and every array is a Float32Array (float32
 * accumulation), else gemmNT.
 */
export function gemm(g: GemmArgs): void {
  const k = nativeKernels()
  const { a, b, out, bias } = g
  if (
    k &&
    a instanceof Float32Array &&
    b instanceof Float32Array &&
    out instanceof Float32Array &&
    (!bias || bias instanceof Float32Array)
  ) {
    k.gemm(
      a,
      g.aOff,
      g.K,
      g.M,
      g.N,
      g.K,
      out,
      g.outOff,
      g.rowStride ?? g.N,
      g.colStride ?? 1,
      bias ?? null,
      0,
      b,
      g.bOff,
      g.K,
      0,
    )
  } else {
    noteJsWork()
    gemmNT(g)
  }
}

/** Rows of B produced on demand (compressed weights): rows n .. n+count-1 into dst, row-major. */
export interface RowSource {
  readRows(n: number, count: number, dst: Float32Array): void
}

/**
 * gemmNT where B comes from a RowSource (g.b and g.bOff are ignored): each block of B rows is
 * decoded once into `tmp` (at least 8·K floats) and reused for every row of A.
 */
export function gemmNTRows(g: GemmArgs, src: RowSource, tmp: Float32Array): void {
  const { M, N, K } = g
  const h: GemmArgs = { ...g, b: tmp, bOff: 0 }
  const step = M === 1 ? 8 : 4
  for (let n = 0; n < N; n += step) {
    const count = Math.min(step, N - n)
    src.readRows(n, count, tmp)
    if (count === 8) row1x8(h, n, 0)
    else if (count === 4) {
      let m = 0
      for (; m + 2 <= M; m += 2) block2x4(h, m, n, 0)
      if (m < M) block1x4(h, m, n, 0)
    } else for (let j = 0; j < count; j++) for (let m = 0; m < M; m++) dot1(h, m, n + j, j * K)
  }
}

function dot1(g: GemmArgs, m: number, n: number, b0: number) {
  const { a, b, K } = g
  const a0 = g.aOff + m * K
  let s = 0
  for (let k = 0; k < K; k++) s += a[a0 + k] * b[b0 + k]
  g.out[g.outOff + m * (g.rowStride ?? g.N) + n * (g.colStride ?? 1)] = s + (g.bias ? g.bias[n] : 0)
}

function row1x8(g: GemmArgs, n: number, b0: number) {
  const { a, b, K, bias } = g
  const a0 = g.aOff
  const b1 = b0 + K
  const b2 = b1 + K
  const b3 = b2 + K
  const b4 = b3 + K
  const b5 = b4 + K
  const b6 = b5 + K
  const b7 = b6 + K
  let s0 = 0
  let s1 = 0
  let s2 = 0
  let s3 = 0
  let s4 = 0
  let s5 = 0
  let s6 = 0
  let s7 = 0
  for (let k = 0; k < K; k++) {
    const x = a[a0 + k]
    s0 += x * b[b0 + k]
    s1 += x * b[b1 + k]
    s2 += x * b[b2 + k]
    s3 += x * b[b3 + k]
    s4 += x * b[b4 + k]
    s5 += x * b[b5 + k]
    s6 += x * b[b6 + k]
    s7 += x * b[b7 + k]
  }
  const cs = g.colStride ?? 1
  const o = g.outOff + n * cs
  const out = g.out
  const z = (i: number) => (bias ? bias[n + i] : 0)
  out[o] = s0 + z(0)
  out[o + cs] = s1 + z(1)
  out[o + 2 * cs] = s2 + z(2)
  out[o + 3 * cs] = s3 + z(3)
  out[o + 4 * cs] = s4 + z(4)
  out[o + 5 * cs] = s5 + z(5)
  out[o + 6 * cs] = s6 + z(6)
  out[o + 7 * cs] = s7 + z(7)
}

function block1x4(g: GemmArgs, m: number, n: number, b0: number) {
  const { a, b, K, bias } = g
  const a0 = g.aOff + m * K
  const b1 = b0 + K
  const b2 = b1 + K
  const b3 = b2 + K
  let s0 = 0
  let s1 = 0
  let s2 = 0
  let s3 = 0
  for (let k = 0; k < K; k++) {
    const x = a[a0 + k]
    s0 += x * b[b0 + k]
    s1 += x * b[b1 + k]
    s2 += x * b[b2 + k]
    s3 += x * b[b3 + k]
  }
  const cs = g.colStride ?? 1
  const o = g.outOff + m * (g.rowStride ?? g.N) + n * cs
  const z = (i: number) => (bias ? bias[n + i] : 0)
  g.out[o] = s0 + z(0)
  g.out[o + cs] = s1 + z(1)
  g.out[o + 2 * cs] = s2 + z(2)
  g.out[o + 3 * cs] = s3 + z(3)
}

function block2x4(g: GemmArgs, m: number, n: number, b0: number) {
  const { a, b, K, bias } = g
  const a0 = g.aOff + m * K
  const a1 = a0 + K
  const b1 = b0 + K
  const b2 = b1 + K
  const b3 = b2 + K
  let s00 = 0
  let s01 = 0
  let s02 = 0
  let s03 = 0
  let s10 = 0
  let s11 = 0
  let s12 = 0
  let s13 = 0
  for (let k = 0; k < K; k++) {
    const x0 = a[a0 + k]
    const x1 = a[a1 + k]
    const w0 = b[b0 + k]
    const w1 = b[b1 + k]
    const w2 = b[b2 + k]
    const w3 = b[b3 + k]
    s00 += x0 * w0
    s01 += x0 * w1
    s02 += x0 * w2
    s03 += x0 * w3
    s10 += x1 * w0
    s11 += x1 * w1
    s12 += x1 * w2
    s13 += x1 * w3
  }
  const rs = g.rowStride ?? g.N
  const cs = g.colStride ?? 1
  const o = g.outOff + m * rs + n * cs
  const out = g.out
  const z0 = bias ? bias[n] : 0
  const z1 = bias ? bias[n + 1] : 0
  const z2 = bias ? bias[n + 2] : 0
  const z3 = bias ? bias[n + 3] : 0
  out[o] = s00 + z0
  out[o + cs] = s01 + z1
  out[o + 2 * cs] = s02 + z2
  out[o + 3 * cs] = s03 + z3
  out[o + rs] = s10 + z0
  out[o + rs + cs] = s11 + z1
  out[o + rs + 2 * cs] = s12 + z2
  out[o + rs + 3 * cs] = s13 + z3
}

/** dst[j·rows + i] = src[srcOff + i·cols + j]: a [rows, cols] block transposed into dst. */
export function transpose2d(
  src: NumericData,
  srcOff: number,
  rows: number,
  cols: number,
  dst: NumericData,
  dstOff = 0,
): void {
  const nk = nativeFor(rows * cols, 1024)
  if (nk && src instanceof Float32Array && dst instanceof Float32Array) {
    nk.transpose(src, srcOff, rows, cols, dst, dstOff)
    return
  }
  noteJsWork()
  transpose2dInto(src, srcOff, rows, cols, dst, dstOff)
}

/** transpose2d in TypeScript (the reference the native transpose is checked against). */
export function transpose2dInto(
  src: NumericData,
  srcOff: number,
  rows: number,
  cols: number,
  dst: NumericData,
  dstOff = 0,
): void {
  // 32×32 tiles keep both sides in cache for large planes
  const T = 32
  for (let i0 = 0; i0 < rows; i0 += T) {
    const i1 = Math.min(i0 + T, rows)
    for (let j0 = 0; j0 < cols; j0 += T) {
      const j1 = Math.min(j0 + T, cols)
      for (let i = i0; i < i1; i++) {
        const s = srcOff + i * cols
        for (let j = j0; j < j1; j++) dst[dstOff + j * rows + i] = src[s + j]
      }
    }
  }
}
