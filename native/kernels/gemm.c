// The driver: splits the output channels into blocks of NR and hands blocks to the pool.
// M = 1 (decoding) takes each weight row once, straight from its packed indices (lut_dot / dot);
// M > 1 (prefill, attention) decodes a block of NR rows once into a k-major panel that every
// MR-row tile of A then streams through (micro). Each output is one sum in a fixed order, so
// results do not depend on the thread count.
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "elementwise.h"
#include "isa.h"
#include "pool.h"

// ---- portable kernels ----------------------------------------------------------------------

static void micro_c(int mr, const float *a, size_t lda, const float *P, size_t K, float *ct,
                    int load) {
  float c[MR][NR];
  memset(c, 0, sizeof c);
  if (load)
    for (int i = 0; i < mr; i++) memcpy(c[i], ct + i * NR, sizeof c[i]);
  for (size_t k = 0; k < K; k++) {
    const float *bp = P + k * NR;
    for (int i = 0; i < mr; i++) {
      float av = a[i * lda + k];
      for (int jj = 0; jj < NR; jj++) c[i][jj] += av * bp[jj];
    }
  }
  for (int i = 0; i < mr; i++) memcpy(ct + i * NR, c[i], sizeof c[i]);
}

static void decode_row_c(const gemm_job *j, size_t row, float *dst) {
  const float *t = lut_row(j, row);
  size_t s = row * j->K;
  if (j->bits == 8)
    for (size_t k = 0; k < j->K; k++) dst[k] = t[j->idx[s + k]];
  else
    for (size_t k = 0; k < j->K; k++) dst[k] = t[index_at(j->idx, j->bits, s + k)];
}

static float lut_dot_c(const gemm_job *j, size_t row, const lut_x *lx) {
  const float *x = lx->x;
  const float *t = lut_row(j, row);
  size_t s = row * j->K;
  float acc = 0;
  for (size_t k = 0; k < j->K; k++) acc += x[k] * t[index_at(j->idx, j->bits, s + k)];
  return acc;
}

// exp.ts's expDet, operation for operation (this file builds with -ffp-contract=off).
const double EXP_C[14] = {1.0,
                          1.0,
                          0.5,
                          0.16666666666666666,
                          0.041666666666666664,
                          0.008333333333333333,
                          0.001388888888888889,
                          0.0001984126984126984,
                          2.48015873015873e-05,
                          2.7557319223985893e-06,
                          2.755731922398589e-07,
                          2.505210838544172e-08,
                          2.08767569878681e-09,
                          1.6059043836821613e-10};

static double pow2(int k) {  // k in [-1022, 1023]
  uint64_t b = (uint64_t)(k + 1023) << 52;
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}

double exp_det(double x) {
  if (!(x <= 709.782712893384)) return x != x ? x : INFINITY;
  if (x < -745.2) return 0;
  double n = x * EXP_LOG2E + EXP_RINT - EXP_RINT;
  double r = x - n * EXP_LN2_HI - n * EXP_LN2_LO;
  double p = EXP_C[13];
  for (int k = 12; k >= 0; k--) p = p * r + EXP_C[k];
  int ni = (int)n;
  if (ni > 1023) return p * pow2(1023) * pow2(ni - 1023);
  if (ni < -1022) return p * pow2(ni + 1000) * pow2(-1000);
  return p * pow2(ni);
}

static void exp_n_c(const double *x, double *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = exp_det(x[i]);
}

static void transpose_c(const float *src, size_t rows, size_t cols, float *dst) {
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j];
}

static void pack_c(const float *const *rows, size_t K, float *P) {
  for (size_t q = 0; q < NR; q++)
    for (size_t k = 0; k < K; k++) P[k * NR + q] = rows[q][k];
}

static float dot_c(const float *a, const float *b, size_t K) {
  float acc[8] = {0};
  size_t k = 0;
  for (; k + 8 <= K; k += 8)
    for (int q = 0; q < 8; q++) acc[q] += a[k + q] * b[k + q];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; k < K; k++) s += a[k] * b[k];
  return s;
}

static void kn_row_c(const float *a, const float *b, size_t ldb, size_t K, size_t N, float *dst) {
  for (size_t n = 0; n < N; n++) dst[n] = 0;
  for (size_t k = 0; k < K; k++)
    for (size_t n = 0; n < N; n++) dst[n] += a[k] * b[k * ldb + n];
}

static float half_c(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 31, m = h & 1023, x;
  if (e == 31) x = sign | 0x7f800000u | (m << 13);
  else if (e) x = sign | ((e + 112) << 23) | (m << 13);
  else {
    float f = (float)m * (1.0f / 16777216.0f);  // subnormal: m · 2^-24
    return sign ? -f : f;
  }
  float f;
  memcpy(&f, &x, 4);
  return f;
}

static float dot_h_c(const float *a, const uint16_t *h, size_t K) {
  float s = 0;
  for (size_t k = 0; k < K; k++) s += a[k] * half_c(h[k]);
  return s;
}

static void halfs_c(const uint16_t *h, float *dst, size_t K) {
  for (size_t k = 0; k < K; k++) dst[k] = half_c(h[k]);
}

static void round_half_c(float *f, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t x;
    memcpy(&x, f + i, 4);
    uint32_t a = x & 0x7fffffffu;
    if (a < 0x38800000u) {
      f[i] = rintf(f[i] * 16777216.0f) / 16777216.0f;  // subnormal fp16: multiples of 2^-24
      continue;
    }
    if (a < 0x477ff000u)
      x = (x + 0xfffu + ((x >> 13) & 1u)) & 0xffffe000u;
    else if (a < 0x7f800000u)
      x = (x & 0x80000000u) | 0x7f800000u;  // ≥ 65520 overflows
    else
      continue;
    memcpy(f + i, &x, 4);
  }
}

const isa_kernels ISA_GENERIC = {.name = "generic",
                                  .micro = micro_c,
                                  .decode_row = decode_row_c,
                                  .lut_dot = lut_dot_c,
                                  .dot = dot_c,
                                  .dot_h = dot_h_c,
                                  .kn_row = kn_row_c,
                                  .halfs = halfs_c,
                                  .exp_n = exp_n_c,
                                  .transpose = transpose_c,
                                  .pack = pack_c,
                                  .round_half = round_half_c};

// ---- dispatch -------------------------------------------------------------------------------

static const isa_kernels *chosen = &ISA_GENERIC;

// Once per process: worker_threads may call in at the same time.
static void choose_isa(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (!getenv("ANEMLL_NO_SIMD") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
    avx2_init();
    chosen = &ISA_AVX2;
  }
#endif
}

static const isa_kernels *isa(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, choose_isa);
  return chosen;
}

const char *gemm_isa(void) { return isa()->name; }

void exp_det_n(const double *x, double *y, size_t n) { isa()->exp_n(x, y, n); }

void round_half(float *f, size_t n) { isa()->round_half(f, n); }

void transpose_f32(const float *src, size_t rows, size_t cols, float *dst) {
  isa()->transpose(src, rows, cols, dst);
}

// ---- per-thread scratch ---------------------------------------------------------------------

static _Thread_local float *tl_buf;
static _Thread_local size_t tl_cap;

static float *scratch(size_t n) {
  if (n > tl_cap) {
    free(tl_buf);
    tl_buf = NULL;
    tl_cap = 0;
    void *p;
    if (posix_memalign(&p, 64, n * sizeof(float)) != 0) return NULL;
    tl_buf = p;
    tl_cap = n;
  }
  return tl_buf;
}

typedef struct {
  const gemm_job *j;
  const isa_kernels *k;
  lut_x lx;  // M = 1 LUT: x in the forms the kernels read
  atomic_int oom;
} run_ctx;


static inline void store(const gemm_job *j, size_t m, size_t n, float v) {
  j->out[m * j->rs + n * j->cs] = v + (j->bias ? j->bias[n] : 0.0f);
}

// M = 1 (or a few rows against dense B [N, K]): one dot product per output.
static void rows_task(void *arg, size_t b0, size_t b1) {
  run_ctx *c = arg;
  const gemm_job *j = c->j;
  size_t n1 = b1 * NR < j->N ? b1 * NR : j->N;
  // B's rows stream through once: prefetch a few rows ahead, non-temporal, so they do not
  // evict what the rest of the step keeps in the caches (measured ~5% faster decoding)
  const size_t row_bytes = j->b      ? j->K * sizeof(float)
                           : j->bh   ? j->K * sizeof(uint16_t)
                           : j->idx8 ? j->K
                                     : j->K * (size_t)j->bits / 8;
  if (j->M == 1 && !j->b && !j->bh && c->k->lut_rows &&
      ((j->bits == 4 && c->lx.xp) || (j->bits == 6 && j->idx8))) {
    c->k->lut_rows(j, b0 * NR, n1, &c->lx);
    return;
  }
  for (size_t n = b0 * NR; n < n1; n++) {
    if (n + PF_ROWS < n1) {
      size_t r = n + PF_ROWS;
      const char *q = j->b      ? (const char *)(j->b + r * j->ldb)
                      : j->bh   ? (const char *)(j->bh + r * j->ldb)
                      : j->idx8 ? (const char *)j->idx8 + (j->row0 + r) * j->K
                                : (const char *)j->idx + (j->row0 + r) * j->K * (size_t)j->bits / 8;
      for (size_t o = 0; o < row_bytes; o += 64) __builtin_prefetch(q + o, 0, 0);
    }
    for (size_t m = 0; m < j->M; m++) {
      const float *a = j->a + m * j->lda;
      float v = j->b    ? c->k->dot(a, j->b + n * j->ldb, j->K)
                : j->bh ? c->k->dot_h(a, j->bh + n * j->ldb, j->K)
                        : c->k->lut_dot(j, j->row0 + n, &c->lx);
      store(j, m, n, v);
    }
  }
}

// A few rows against dense B [K, N]: each output row as Σ_k a[k]·B[k, :], KN_COLS columns a task.
static void kn_task(void *arg, size_t b0, size_t b1) {
  run_ctx *c = arg;
  const gemm_job *j = c->j;
  float tmp[KN_COLS];
  for (size_t blk = b0; blk < b1; blk++) {
    size_t n0 = blk * KN_COLS, nb = j->N - n0 < KN_COLS ? j->N - n0 : KN_COLS;
    for (size_t m = 0; m < j->M; m++) {
      c->k->kn_row(j->a + m * j->lda, j->b + n0, j->ldb, j->K, nb, tmp);
      for (size_t q = 0; q < nb; q++) store(j, m, n0 + q, tmp[q]);
    }
  }
}

// M > 1 (or B in KN layout): panel of NR rows, then MR×NR tiles.
static void panel_task(void *arg, size_t b0, size_t b1) {
  run_ctx *c = arg;
  const gemm_job *j = c->j;
  const size_t K = j->K;
  const size_t M = j->M;
  float *buf = scratch(K * NR + M * NR + K + K * NR);
  if (!buf) {
    atomic_store(&c->oom, 1);
    return;
  }
  float *P = buf, *C = buf + K * NR, *row = C + M * NR, *R = row + K;
  for (size_t blk = b0; blk < b1; blk++) {
    size_t n0 = blk * NR;
    size_t nb = j->N - n0 < NR ? j->N - n0 : NR;
    if (nb < NR) memset(P, 0, K * NR * sizeof(float));
    if (j->b && j->b_kn) {
      for (size_t k = 0; k < K; k++) memcpy(P + k * NR, j->b + k * j->ldb + n0, nb * sizeof(float));
    } else if (nb == NR) {
      // the panel's rows (decoded into R unless B is dense), then one transposing pack
      const float *rows[NR];
      for (size_t q = 0; q < NR; q++) {
        float *r = R + q * K;
        rows[q] = j->b ? j->b + (n0 + q) * j->ldb : r;
        if (j->bh) c->k->halfs(j->bh + (n0 + q) * j->ldb, r, K);
        else if (!j->b) c->k->decode_row(j, j->row0 + n0 + q, r);
      }
      c->k->pack(rows, K, P);
    } else {
      for (size_t q = 0; q < nb; q++) {
        const float *src = j->b ? j->b + (n0 + q) * j->ldb : row;
        if (j->bh) c->k->halfs(j->bh + (n0 + q) * j->ldb, row, K);
        else if (!j->b) c->k->decode_row(j, j->row0 + n0 + q, row);
        for (size_t k = 0; k < K; k++) P[k * NR + q] = src[k];
      }
    }
    // K in blocks of KC: a block of the panel (KC·NR floats) stays in L1 while every tile of A
    // passes it; the tiles' sums wait in C (M·NR floats) between blocks
    for (size_t k0 = 0; k0 < K; k0 += KC) {
      size_t kc = K - k0 < KC ? K - k0 : KC;
      for (size_t m0 = 0; m0 < M; m0 += MR) {
        int mr = (int)(M - m0 < MR ? M - m0 : MR);
        c->k->micro(mr, j->a + m0 * j->lda + k0, j->lda, P + k0 * NR, kc, C + m0 * NR, k0 > 0);
      }
    }
    for (size_t m = 0; m < M; m++)
      for (size_t q = 0; q < nb; q++) store(j, m, n0 + q, C[m * NR + q]);
  }
}

// x·2^112 (exact: a power of two), each block of 64 in the order of dot4p's lanes: the even
// columns (low nibbles), then the odd ones; within each, per quarter r, 4 columns from the block's
// first half and 4 from its second (a register's two lanes). Returns 0 when some finite
// |x| >= 2^16, whose scaled value would overflow (fp16 activations never are).
static int prep_x4(const float *x, size_t K, float *xp) {
  for (size_t k = 0; k < K; k++)
    if (isfinite(x[k]) && fabsf(x[k]) >= 65536.0f) return 0;
  for (size_t b = 0; b < K; b += 64)
    for (size_t odd = 0; odd < 2; odd++)
      for (size_t r = 0; r < 4; r++)
        for (size_t e = 0; e < 4; e++) {
          float *o = xp + b + 32 * odd + 8 * r;
          o[e] = x[b + 8 * r + 2 * e + odd] * 0x1p112f;
          o[4 + e] = x[b + 32 + 8 * r + 2 * e + odd] * 0x1p112f;
        }
  return 1;
}

int gemm_run(const gemm_job *j) {
  if (j->M == 0 || j->N == 0) return 1;
  run_ctx c = {j, isa(), {j->a, NULL, NULL, NULL}, 0};
  size_t blocks = (j->N + NR - 1) / NR;
  int threads = pool_threads();
  int dense = j->b || j->bh;
  int kn = j->b && j->b_kn;
  int rowwise = !kn && (j->M == 1 || (dense && j->M <= SMALL_M));
  int small_kn = kn && j->M <= SMALL_M;
  if (small_kn) blocks = (j->N + KN_COLS - 1) / KN_COLS;
  float *split = NULL;
  if (rowwise && !dense && j->bits == 4 && j->K % 2 == 0) {
    size_t h = j->K / 2;
    split = malloc((3 * j->K + 1) * sizeof(float));
    if (!split) return 0;
    for (size_t i = 0; i < h; i++) {
      split[i] = j->a[2 * i];
      split[h + i] = j->a[2 * i + 1];
    }
    c.lx.xe = split;
    c.lx.xo = split + h;
    if (j->K % 64 == 0 && prep_x4(j->a, j->K, split + j->K)) c.lx.xp = split + j->K;
  }
  // Small jobs stay on the calling thread: waking a worker costs more than they do.
  double work = (double)j->M * (double)j->N * (double)j->K;
  // Row-wise products stream their weights: one contiguous run of rows per thread lets the
  // hardware prefetchers run ahead (1.3–1.6× faster than interleaved blocks on 2 cores). Panel
  // products compute more than they read: one block per grab, so threads finish together.
  size_t grain = work < 65536       ? blocks
                 : rowwise && !small_kn ? (blocks + (size_t)threads - 1) / (size_t)threads
                                      : 1;
  pool_run(small_kn ? kn_task : rowwise ? rows_task : panel_task, &c, blocks, grain);
  free(split);
  return !atomic_load(&c.oom);
}

// ---- decoding attention ---------------------------------------------------------------------

typedef struct {
  const float *q, *k, *v, *mask;
  const int32_t *mask_row;
  float *out;
  size_t M, D, C, Dv, L;
  const isa_kernels *isa;
  atomic_int oom;
} attn_ctx;

// One matrix: the products as gemm_run's row-wise (scores) and small-KN (context) paths compute
// them, each output stored as v + 0.0f as store() does; roundings, mask and softmax in between.
static void attn_task(void *arg, size_t b0, size_t b1) {
  attn_ctx *c = arg;
  const size_t M = c->M, D = c->D, C = c->C, Dv = c->Dv, L = c->L;
  float *s = scratch(2 * M * L + KN_COLS);
  if (!s) {
    atomic_store(&c->oom, 1);
    return;
  }
  float *p = s + M * L, *tmp = p + M * L;
  for (size_t b = b0; b < b1; b++) {
    const float *q = c->q + b * M * D, *k = c->k + b * C * D, *v = c->v + b * C * Dv;
    for (size_t n = 0; n < L; n++)
      for (size_t m = 0; m < M; m++) s[m * L + n] = c->isa->dot(q + m * D, k + n * D, D) + 0.0f;
    c->isa->round_half(s, M * L);
    for (size_t m = 0; m < M; m++) {
      const float *mk = c->mask + c->mask_row[b * M + m];
      for (size_t n = 0; n < L; n++) s[m * L + n] = s[m * L + n] + mk[n];
    }
    c->isa->round_half(s, M * L);
    softmax_rows_f32(s, p, M, L);
    c->isa->round_half(p, M * L);
    float *o = c->out + b * M * Dv;
    for (size_t n0 = 0; n0 < Dv; n0 += KN_COLS) {
      size_t nb = Dv - n0 < KN_COLS ? Dv - n0 : KN_COLS;
      for (size_t m = 0; m < M; m++) {
        c->isa->kn_row(p + m * L, v + n0, Dv, L, nb, tmp);
        for (size_t q2 = 0; q2 < nb; q2++) o[m * Dv + n0 + q2] = tmp[q2] + 0.0f;
      }
    }
  }
}

int attention_f32(const float *q, const float *k, const float *v, const float *mask,
                  const int32_t *mask_row, float *out, size_t mats, size_t M, size_t D, size_t C,
                  size_t Dv, size_t L) {
  attn_ctx c = {q, k, v, mask, mask_row, out, M, D, C, Dv, L, isa(), 0};
  pool_run(attn_task, &c, mats, 1);
  return !atomic_load(&c.oom);
}
