// C = A · Bᵀ (+ bias) in float32 with float32 accumulation, B dense or palettized (LUT).
//   out[m·rs + n·cs] = Σ_k A[m·lda + k] · B(n, k) + bias[n]      m < M, n < N, k < K
// Dense B(n, k) is b[n·ldb + k] ("NK", a weight) or b[k·ldb + n] ("KN", matmul's y); fp16 B
// (bh, the bits of a float16 weight kept as it is stored) is bh[n·ldb + k].
// LUT B(n, k) = lut[⌊(row0 + n) / rpg⌋ · 2^bits + index((row0 + n)·K + k)], indices packed
// LSB-first at `bits` bits each, as in a CoreML constexpr_lut_to_dense with one table per group
// of rpg output channels. Callers check every range against the arrays (addon.c does).
#ifndef ANEMLL_GEMM_H
#define ANEMLL_GEMM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const float *a;
  size_t lda, M, N, K;
  float *out;
  size_t rs, cs;
  const float *bias;  // NULL: none
  const float *b;     // dense B, or NULL
  const uint16_t *bh; // fp16 B, or NULL
  size_t ldb;
  int b_kn;
  const uint8_t *idx;  // LUT B
  size_t idx_bytes;
  // 6-bit LUT B again, one byte per index (row-major like idx), encoded for the M = 1 kernel:
  // low 4 bits, bit 4 of the index at bit 7 and bit 5 at bit 6 (lut_bytes6 in lut.ts); or NULL
  const uint8_t *idx8;
  int bits;
  const float *lut;
  size_t rpg, row0;
} gemm_job;

/** Runs the job on the thread pool. Returns 0 when out of memory. */
int gemm_run(const gemm_job *j);

/** fuse-attention.ts's masked attention for decoding (M <= 4 query rows per matrix, Dv > 1), the
 * gemm and elementwise kernels' arithmetic element for element: per matrix b < mats, scores
 * s = q[b]·k[b][:L]ᵀ (q [M, D]; k rows of D, C per matrix) rounded to fp16, plus the mask
 * (row r of s adds mask[mask_row[b·M + r] .. + L)), rounded, softmax over the L columns, rounded,
 * then out[b] = s·v[b][:L] (v rows of Dv, C per matrix). Matrices run on the pool. Returns 0 when
 * out of memory. */
int attention_f32(const float *q, const float *k, const float *v, const float *mask,
                  const int32_t *mask_row, float *out, size_t mats, size_t M, size_t D, size_t C,
                  size_t Dv, size_t L);

/** Rounds f[0..n) to the nearest fp16 value (ties to even, overflow to ±inf), in place. */
void round_half(float *f, size_t n);

/** dst[j·rows + i] = src[i·cols + j]. */
void transpose_f32(const float *src, size_t rows, size_t cols, float *dst);

/** "avx2" or "generic": the code path this CPU takes. */
const char *gemm_isa(void);

#endif
