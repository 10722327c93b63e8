// The one matrix product every conv/linear/matmul kernel reduces to: C = A · Bᵀ with A [M, K] and
// B [N, K] both row-major ("NT"), so each output is a dot product of two contiguous rows. Linear
// and 1×1-conv weights are B ([D_out, D_in]); the loop walks B four rows at a time and reuses
// them for every row of A, so a weight streams through the cache once per call.
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

/** Reference: one dot product per output, float64 accumulation. Used to check gemmNT. */
export function gemmNTNaive(g: GemmArgs): void {
  const rs = g.rowStride ?? g.N
  const cs = g.colStride ?? 1
  for (let m = 0; m < g.M; m++) {
    for (let n = 0; n < g.N; n++) {
      let s = g.bias ? g.bias[n] : 0
      for (let k = 0; k < g.K; k++) s += g.a[g.aOff + m * g.K + k] * g.b[g.bOff + n * g.K + k]
      g.out[g.outOff + m * rs + n * cs] = s
    }
  }
}

/** C = A · Bᵀ (+ bias), float64 accumulation; B rows in blocks of four. */
export function gemmNT(g: GemmArgs): void {
  const { a, b, out, M, N, K, bias, aOff, bOff, outOff } = g
  const rs = g.rowStride ?? N
  const cs = g.colStride ?? 1
  let n = 0
  for (; n + 4 <= N; n += 4) {
    const b0 = bOff + n * K
    const b1 = b0 + K
    const b2 = b1 + K
    const b3 = b2 + K
    const z0 = bias ? bias[n] : 0
    const z1 = bias ? bias[n + 1] : 0
    const z2 = bias ? bias[n + 2] : 0
    const z3 = bias ? bias[n + 3] : 0
    for (let m = 0; m < M; m++) {
      const a0 = aOff + m * K
      let s0 = 0
      let s1 = 0
      let s2 = 0
      let s3 = 0
      for (let k = 0; k < K; k++) {
        const av = a[a0 + k]
        s0 += av * b[b0 + k]
        s1 += av * b[b1 + k]
        s2 += av * b[b2 + k]
        s3 += av * b[b3 + k]
      }
      const o = outOff + m * rs + n * cs
      out[o] = s0 + z0
      out[o + cs] = s1 + z1
      out[o + 2 * cs] = s2 + z2
      out[o + 3 * cs] = s3 + z3
    }
  }
  for (; n < N; n++) {
    const b0 = bOff + n * K
    const z = bias ? bias[n] : 0
    for (let m = 0; m < M; m++) {
      const a0 = aOff + m * K
      let s = 0
      for (let k = 0; k < K; k++) s += a[a0 + k] * b[b0 + k]
      out[outOff + m * rs + n * cs] = s + z
    }
  }
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
