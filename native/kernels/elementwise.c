// Elementwise add/sub/mul/real_div of float32 tensors with NumPy broadcasting, walked as rows:
// the output is contiguous, each operand has a stride per (coalesced) dim, 0 where it broadcasts.
// One float32 operation per element: the same bits as the TypeScript kernels, which compute in
// float64 and round to float32 (for + − × ÷ double rounding through float64 is exact).
#include "elementwise.h"

#include "gemm.h"  // round_half
#include "isa.h"   // exp_det_n
#include "pool.h"

#include <math.h>
#include <stdlib.h>

#define ROW(EXPR)                                                                              \
  do {                                                                                         \
    if (ix == 1 && iy == 1)                                                                    \
      for (size_t i = 0; i < n; i++) {                                                         \
        float a = x[i], b = y[i];                                                              \
        o[i] = (EXPR);                                                                         \
      }                                                                                        \
    else if (ix == 1 && iy == 0) {                                                             \
      float b = y[0];                                                                          \
      for (size_t i = 0; i < n; i++) {                                                         \
        float a = x[i];                                                                        \
        o[i] = (EXPR);                                                                         \
      }                                                                                        \
    } else if (ix == 0 && iy == 1) {                                                           \
      float a = x[0];                                                                          \
      for (size_t i = 0; i < n; i++) {                                                         \
        float b = y[i];                                                                        \
        o[i] = (EXPR);                                                                         \
      }                                                                                        \
    } else                                                                                     \
      for (size_t i = 0; i < n; i++) {                                                         \
        float a = x[i * ix], b = y[i * iy];                                                    \
        o[i] = (EXPR);                                                                         \
      }                                                                                        \
  } while (0)

static void row(int op, const float *x, size_t ix, const float *y, size_t iy, float *o, size_t n) {
  switch (op) {
    case EW_ADD: ROW(a + b); break;
    case EW_SUB: ROW(a - b); break;
    case EW_MUL: ROW(a * b); break;
    default: ROW(a / b); break;
  }
}

// The walk of both binary kernels: rows of dims[rank − 1] elements, the outer dims an odometer.
// Moves the operand offsets to the next row.
static inline void next_row(int rank, const int32_t *dims, const int32_t *sx, const int32_t *sy,
                            int32_t *count, size_t *ox, size_t *oy) {
  for (int d = rank - 2; d >= 0; d--) {
    count[d]++;
    *ox += (size_t)sx[d];
    *oy += (size_t)sy[d];
    if (count[d] < dims[d]) return;
    *ox -= (size_t)sx[d] * (size_t)dims[d];
    *oy -= (size_t)sy[d] * (size_t)dims[d];
    count[d] = 0;
  }
}

// The row length and count of the walk (0 rows when there is nothing to do).
static inline size_t row_count(int rank, const int32_t *dims, size_t *n) {
  size_t rows = 1;
  *n = (size_t)dims[rank - 1];
  for (int d = 0; d < rank - 1; d++) rows *= (size_t)dims[d];
  return *n == 0 ? 0 : rows;
}

void binary_f32(int op, const float *x, const float *y, float *o, int rank, const int32_t *dims,
                const int32_t *sx, const int32_t *sy) {
  size_t n, rows = row_count(rank, dims, &n), ox = 0, oy = 0;
  int32_t count[EW_MAX_RANK] = {0};
  for (size_t q = 0; q < rows; q++, o += n) {
    row(op, x + ox, (size_t)sx[rank - 1], y + oy, (size_t)sy[rank - 1], o, n);
    next_row(rank, dims, sx, sy, count, &ox, &oy);
  }
}

void binary_i32(int op, const int32_t *x, const int32_t *y, int32_t *o, int rank,
                const int32_t *dims, const int32_t *sx, const int32_t *sy) {
  size_t n, rows = row_count(rank, dims, &n), ox = 0, oy = 0;
  const size_t jx = (size_t)sx[rank - 1], jy = (size_t)sy[rank - 1];
  int32_t count[EW_MAX_RANK] = {0};
  for (size_t q = 0; q < rows; q++, o += n) {
    // wrapping, as a JavaScript Int32Array stores an exact double sum
    for (size_t i = 0; i < n; i++) {
      uint32_t a = (uint32_t)x[ox + i * jx], b = (uint32_t)y[oy + i * jy];
      o[i] = (int32_t)(op == EW_SUB ? a - b : a + b);
    }
    next_row(rank, dims, sx, sy, count, &ox, &oy);
  }
}

// exp is exp_det (src/runtime/kernels/exp.ts's expDet), vectorized over chunks of EXP_CHUNK.
enum { EXP_CHUNK = 256 };

// x / (1 + exp(−x)) in double, rounded once to float32: the TypeScript kernel's arithmetic.

static void silu_range(const float *x, float *o, size_t n) {
  double t[EXP_CHUNK];
  for (size_t i0 = 0; i0 < n; i0 += EXP_CHUNK) {
    size_t m = n - i0 < EXP_CHUNK ? n - i0 : EXP_CHUNK;
    for (size_t i = 0; i < m; i++) t[i] = -(double)x[i0 + i];
    exp_det_n(t, t, m);
    for (size_t i = 0; i < m; i++) o[i0 + i] = (float)((double)x[i0 + i] / (1.0 + t[i]));
  }
}

// Elementwise work splits into PAR_GRAIN-element tasks on the pool (each element is computed
// alone, so the split never changes a bit); shorter arrays stay on the caller.
enum { PAR_GRAIN = 4096 };

typedef struct {
  const float *x;
  float *o;
  size_t n;
} silu_ctx;

static void silu_task(void *arg, size_t b0, size_t b1) {
  const silu_ctx *c = arg;
  size_t e = b1 * PAR_GRAIN < c->n ? b1 * PAR_GRAIN : c->n;
  silu_range(c->x + b0 * PAR_GRAIN, c->o + b0 * PAR_GRAIN, e - b0 * PAR_GRAIN);
}

void silu_f32(const float *x, float *o, size_t n) {
  silu_ctx c = {x, o, n};
  pool_run(silu_task, &c, (n + PAR_GRAIN - 1) / PAR_GRAIN, 1);
}

// softmax over the middle dim of [outer, n, inner], step for step as softmaxInto (activation.ts),
// its exps exp_det's (expDet there), computed EXP_CHUNK at a time by the vector exp_det_n; the sum
// stays one sequential double sum in element order. Masked scores (d < −746) give exactly 0.
static void softmax_rows(const float *x, float *o, size_t q0, size_t q1, size_t n, size_t inner) {
  double d[EXP_CHUNK], e[EXP_CHUNK];
  for (size_t q = q0; q < q1; q++)
    for (size_t j = 0; j < inner; j++) {
      size_t base = q * n * inner + j, end = base + n * inner, stop = base;
      float max = -INFINITY;
      for (size_t p = base; p < end; p += inner)
        if (x[p] > max) max = x[p];
      double sum = 0;
      for (size_t i0 = 0; i0 < n; i0 += EXP_CHUNK) {
        size_t m = n - i0 < EXP_CHUNK ? n - i0 : EXP_CHUNK, p0 = base + i0 * inner;
        for (size_t i = 0; i < m; i++) d[i] = (double)x[p0 + i * inner] - (double)max;
        exp_det_n(d, e, m);
        for (size_t i = 0; i < m; i++) {
          size_t p = p0 + i * inner;
          if (d[i] < -746) {
            o[p] = 0;
            continue;
          }
          o[p] = (float)e[i];
          sum += e[i];
          stop = p + inner;
        }
      }
      double inv = 1 / sum;
      if (!isfinite(inv)) stop = end;
      for (size_t p = base; p < stop; p += inner) o[p] = (float)((double)o[p] * inv);
    }
}

void softmax_rows_f32(const float *x, float *o, size_t rows, size_t n) {
  softmax_rows(x, o, 0, rows, n, 1);
}

typedef struct {
  const float *x;
  float *o;
  size_t outer, n, inner, per;
} softmax_ctx;

static void softmax_task(void *arg, size_t b0, size_t b1) {
  const softmax_ctx *c = arg;
  size_t q1 = b1 * c->per < c->outer ? b1 * c->per : c->outer;
  softmax_rows(c->x, c->o, b0 * c->per, q1, c->n, c->inner);
}

void softmax_f32(const float *x, float *o, size_t outer, size_t n, size_t inner) {
  size_t row = n * inner > 0 ? n * inner : 1;
  size_t per = PAR_GRAIN / row ? PAR_GRAIN / row : 1;  // outer slices per task
  softmax_ctx c = {x, o, outer, n, inner, per};
  pool_run(softmax_task, &c, (outer + per - 1) / per, 1);
}

// layer_norm of the 2n-vector [h, −h] along an axis, its first half, times w: fuse.ts's rmsBlock
// step for step (sums in double in the same order, the LayerNorm output rounded to fp16).
// Sums of one column (s = 1: decoding) stay in registers; wider blocks walk the columns side by
// side through arrays (vectorized across columns). Each column's order is the TypeScript one.
static void rms_stats_col(const float *xb, size_t n, double eps, double *mean_out,
                          double *inv_out) {
  double mean = 0, v = 0;
  for (size_t i = 0; i < n; i++) mean += (double)xb[i];
  for (size_t i = 0; i < n; i++) mean += -(double)xb[i];
  mean /= (double)(2 * n);
  for (size_t i = 0; i < n; i++) {
    double d = (double)xb[i] - mean;
    v += d * d;
  }
  for (size_t i = 0; i < n; i++) {
    double d = -(double)xb[i] - mean;
    v += d * d;
  }
  *mean_out = mean;
  *inv_out = 1 / sqrt(v / (double)(2 * n) + eps);
}

static void rms_stats_cols(const float *xb, size_t n, size_t s, double eps, double *mean,
                           double *v) {
  for (size_t r = 0; r < s; r++) mean[r] = v[r] = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t r = 0; r < s; r++) mean[r] += (double)xb[i * s + r];
  for (size_t i = 0; i < n; i++)
    for (size_t r = 0; r < s; r++) mean[r] += -(double)xb[i * s + r];
  for (size_t r = 0; r < s; r++) mean[r] /= (double)(2 * n);
  for (size_t i = 0; i < n; i++)
    for (size_t r = 0; r < s; r++) {
      double d = (double)xb[i * s + r] - mean[r];
      v[r] += d * d;
    }
  for (size_t i = 0; i < n; i++)
    for (size_t r = 0; r < s; r++) {
      double d = -(double)xb[i * s + r] - mean[r];
      v[r] += d * d;
    }
  for (size_t r = 0; r < s; r++) v[r] = 1 / sqrt(v[r] / (double)(2 * n) + eps);
}

int rms_pair_f32(const float *x, float *o, const float *w, size_t outer, size_t n, size_t s,
                 double eps) {
  float *ln = malloc(n * s * sizeof(float));
  double *mean = malloc(2 * s * sizeof(double));
  if (!ln || !mean) {
    free(ln);
    free(mean);
    return 0;
  }
  double *inv = mean + s;
  for (size_t q = 0; q < outer; q++) {
    const float *xb = x + q * n * s;
    float *ob = o + q * n * s;
    if (s == 1) rms_stats_col(xb, n, eps, mean, inv);
    else rms_stats_cols(xb, n, s, eps, mean, inv);
    for (size_t i = 0; i < n; i++)
      for (size_t r = 0; r < s; r++)
        ln[i * s + r] = (float)(((double)xb[i * s + r] - mean[r]) * inv[r] + 0.0);
    round_half(ln, n * s);
    for (size_t i = 0; i < n; i++)
      for (size_t r = 0; r < s; r++) ob[i * s + r] = (float)((double)ln[i * s + r] * (double)w[i]);
  }
  free(ln);
  free(mean);
  return 1;
}

// x·cos + rotate_half(x)·sin over rows of D, the tables repeating every T elements: fuse.ts's
// rotate step for step (products rounded to float32, then to fp16, then summed in float32).
int rope_f32(const float *x, const float *cos, const float *sin, float *o, size_t N, size_t D,
             size_t T) {
  float *a = malloc(2 * N * sizeof(float));
  if (!a) return 0;
  float *b = a + N;
  size_t h = D / 2;
  for (size_t base = 0; base < N; base += D) {
    size_t t = base % T;
    for (size_t j = 0; j < h; j++) {
      a[base + j] = (float)((double)x[base + j] * (double)cos[t + j]);
      b[base + j] = (float)(-(double)x[base + j + h] * (double)sin[t + j]);
    }
    for (size_t j = h; j < D; j++) {
      a[base + j] = (float)((double)x[base + j] * (double)cos[t + j]);
      b[base + j] = (float)((double)x[base + j - h] * (double)sin[t + j]);
    }
  }
  round_half(a, 2 * N);
  for (size_t i = 0; i < N; i++) o[i] = (float)((double)a[i] + (double)b[i]);
  free(a);
  return 1;
}
