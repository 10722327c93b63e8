// The inner loops gemm.c drives, one table per instruction set: a portable C version (gemm.c)
// and an AVX2/FMA/F16C one (avx2.c) chosen at run time on x86-64 CPUs that have it.
#ifndef ANEMLL_ISA_H
#define ANEMLL_ISA_H

#include "gemm.h"

// SMALL_M: products with at most this many rows of A (decoding's attention) skip the panel.
enum { NR = 16, MR = 6, KC = 256, SMALL_M = 4, KN_COLS = 64 };
// Decoding prefetches the weight rows this many rows ahead.
enum { PF_ROWS = 4 };

/** x of an M = 1 LUT product in the forms the kernels read (NULL where not made). */
typedef struct {
  const float *x;
  const float *xe, *xo;  // the even and odd elements (K/2 each): 4-bit rows
  // 4-bit rows with K % 64 == 0: x·2^112 with each 64-block's elements in the order dot4p's
  // lanes take them (prep_x4 in gemm.c); NULL when some |x| >= 2^16 is finite (it would overflow)
  const float *xp;
} lut_x;

typedef struct {
  const char *name;
  /** ct[i·NR + j] (+)= Σ_k a[i·lda + k] · P[k·NR + j] for i < mr (≤ MR), j < NR; with `load`
   * the sums continue from ct's values (K split into blocks keeps the order of the terms). */
  void (*micro)(int mr, const float *a, size_t lda, const float *P, size_t K, float *ct, int load);
  /** dst[k] = W[row, k] for k < K: `row` is absolute (row0 + n). */
  void (*decode_row)(const gemm_job *j, size_t row, float *dst);
  /** Σ_k x[k] · W[row, k] (absolute row), x also as gemm.c's run_ctx prepares it. */
  float (*lut_dot)(const gemm_job *j, size_t row, const lut_x *x);
  /** M = 1 with 4-bit B and x->xp made, or 6-bit B with idx8: out[n·cs] = lut_dot(row0 + n)
   * (+ bias[n]) for rows n0 ≤ n < n1, prefetched as rows_task does; NULL: lut_dot only. */
  void (*lut_rows)(const gemm_job *j, size_t n0, size_t n1, const lut_x *x);
  /** Σ_k a[k] · b[k]. */
  float (*dot)(const float *a, const float *b, size_t K);
  /** Σ_k a[k] · float(h[k]) for fp16 bits h. */
  float (*dot_h)(const float *a, const uint16_t *h, size_t K);
  /** dst[n] = Σ_k a[k] · b[k·ldb + n] for n < N (B stored [K, N]). */
  void (*kn_row)(const float *a, const float *b, size_t ldb, size_t K, size_t N, float *dst);
  /** dst[k] = float(h[k]). */
  void (*halfs)(const uint16_t *h, float *dst, size_t K);
  /** y[i] = exp_det(x[i]) (x and y may be the same array). */
  void (*exp_n)(const double *x, double *y, size_t n);
  /** dst[j·rows + i] = src[i·cols + j]: a [rows, cols] matrix transposed. */
  void (*transpose)(const float *src, size_t rows, size_t cols, float *dst);
  /** P[k·NR + q] = rows[q][k] for q < NR, k < K: NR rows into a k-major panel. */
  void (*pack)(const float *const *rows, size_t K, float *P);
  void (*round_half)(float *f, size_t n);
} isa_kernels;

extern const isa_kernels ISA_GENERIC;
#if defined(__x86_64__)
extern const isa_kernels ISA_AVX2;
void avx2_init(void);
#endif

/** The index of element i of an LSB-first packed stream of `bits`-bit values. */
static inline unsigned index_at(const uint8_t *idx, int bits, size_t i) {
  size_t p = i * (size_t)bits;
  unsigned v = idx[p >> 3] >> (p & 7);
  if ((int)(p & 7) + bits > 8) v |= (unsigned)idx[(p >> 3) + 1] << (8 - (p & 7));
  return v & ((1u << bits) - 1);
}

/** The table of absolute row `row` (2^bits floats). */
static inline const float *lut_row(const gemm_job *j, size_t row) {
  return j->lut + (row / j->rpg) * ((size_t)1 << j->bits);
}

/** exp_det's constants (exp.ts): 1/k! for k = 0..13, log2 e, ln 2 in two parts, 1.5·2^52. */
extern const double EXP_C[14];
#define EXP_LOG2E 1.4426950408889634
#define EXP_LN2_HI 0.6931471803691238
#define EXP_LN2_LO 1.9082149292705877e-10
#define EXP_RINT 6755399441055744.0

/** e^x exactly as src/runtime/kernels/exp.ts computes it (the scalar path of every ISA). */
double exp_det(double x);

/** exp_det over an array on the best ISA. */
void exp_det_n(const double *x, double *y, size_t n);

#endif
