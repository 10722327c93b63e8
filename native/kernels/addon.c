// Node-API binding of the run-time kernels (src/runtime/native.ts is the TypeScript side):
//   gemm(a, aOff, lda, M, N, K, out, outOff, rs, cs, bias, biasOff, b, bOff, ldb, bKN)
//   lutGemm(a, aOff, lda, M, N, K, out, outOff, rs, cs, bias, biasOff, idx, bits, lut, rpg, row0
//           [, idx8])   idx8: a 6-bit B as encoded index bytes (gemm.h), or null
//   hgemm(a, aOff, lda, M, N, K, out, outOff, rs, cs, bias, biasOff, bh, bOff, ldb)
//   binary(op, x, y, out, dims, sx, sy)   op: 0 add, 1 sub, 2 mul, 3 real_div; Int32Array plans;
//                                         x, y, out Float32Arrays, or Int32Arrays for add and sub
//   copy(src, srcOff, dst, dstOff, n)     n elements, both Float32Array or both Int32Array
//   silu(x, out);  softmax(x, out, outer, n, inner);  rmsPair(x, out, w, outer, n, s, eps);
//   rope(x, cos, sin, out, D);  transpose(src, srcOff, rows, cols, dst, dstOff)
//   roundHalf(f, start, end)
//   attention(q, k, v, mask, maskRow, out, mats, M, D, C, Dv, L)   maskRow an Int32Array; L = 0:
//                                         the live columns found from the mask when it runs
//   info() -> { isa, threads };  setThreads(n) -> n
//   sliceWrite(u, x, begin, end, dims, count)   x[begin:end] = u in place (Int32Array bounds)
//   tapeCreate(calls) -> tape   calls: [[name, ...arguments of that kernel], ...], checked once
//   tapeRun(tape)               runs the calls in order (src/runtime/tape.ts records them)
// Float arrays are Float32Array, idx a Uint8Array, bias a Float32Array or null. Every element a
// kernel may touch is checked against the arrays here: a wrong argument throws, never corrupts.
#include <math.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elementwise.h"
#include "gemm.h"
#include "pool.h"

typedef struct {
  napi_env env;
  napi_value *argv;
  const char *fn;
  int bad;
} args_t;

static napi_value fail(napi_env env, const char *fn, const char *msg) {
  char text[160];
  snprintf(text, sizeof text, "%s: %s", fn, msg);
  napi_throw_error(env, NULL, text);
  return NULL;
}

// Declares argv (n values, else throws naming fn) and `a`, the reader of its elements.
#define TAKE_ARGS(n, fn)                                                                       \
  size_t argc = n;                                                                             \
  napi_value argv[n];                                                                          \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != n)            \
    return fail(env, fn, "expected " #n " arguments");                                         \
  args_t a = {env, argv, fn, 0}

static double num(args_t *a, int i) {
  double v;
  if (napi_get_value_double(a->env, a->argv[i], &v) != napi_ok || !(v >= 0) ||
      v > 9007199254740991.0 || v != (double)(int64_t)v) {
    a->bad = 1;
    return 0;
  }
  return v;
}

// A finite number (not only a count, as num() takes).
static double real(args_t *a, int i) {
  double v;
  if (napi_get_value_double(a->env, a->argv[i], &v) != napi_ok || !isfinite(v)) {
    a->bad = 1;
    return 0;
  }
  return v;
}

// The array at argv[i] (NULL for null when `optional`), with its element count.
static void *arr(args_t *a, int i, napi_typedarray_type want, size_t *len, int optional) {
  napi_valuetype t;
  *len = 0;
  if (napi_typeof(a->env, a->argv[i], &t) != napi_ok) return a->bad = 1, NULL;
  if (optional && (t == napi_null || t == napi_undefined)) return NULL;
  bool is;
  napi_typedarray_type type;
  void *data;
  if (napi_is_typedarray(a->env, a->argv[i], &is) != napi_ok || !is ||
      napi_get_typedarray_info(a->env, a->argv[i], &type, len, &data, NULL, NULL) != napi_ok ||
      type != want)
    return a->bad = 1, NULL;
  return data;
}

// The element type of the typed array at argv[i] (napi_int8_array, never valid here, if none).
static napi_typedarray_type type_of(args_t *a, int i) {
  bool is;
  napi_typedarray_type type;
  if (napi_is_typedarray(a->env, a->argv[i], &is) != napi_ok || !is ||
      napi_get_typedarray_info(a->env, a->argv[i], &type, NULL, NULL, NULL, NULL) != napi_ok)
    return napi_int8_array;
  return type;
}

// The common head: A, M, N, K, out with strides, bias. Checks A, out and bias ranges.
static int head(args_t *a, gemm_job *j) {
  size_t na, no, nb;
  float *A = arr(a, 0, napi_float32_array, &na, 0);
  double aOff = num(a, 1), lda = num(a, 2), M = num(a, 3), N = num(a, 4), K = num(a, 5);
  float *out = arr(a, 6, napi_float32_array, &no, 0);
  double oOff = num(a, 7), rs = num(a, 8), cs = num(a, 9);
  float *bias = arr(a, 10, napi_float32_array, &nb, 1);
  double bOff = num(a, 11);
  if (a->bad) return 0;
  if (M > 0 && N > 0) {
    if (K > 0 && aOff + (M - 1) * lda + K > (double)na) return 0;
    if (oOff + (M - 1) * rs + (N - 1) * cs >= (double)no) return 0;
    if (bias && bOff + N > (double)nb) return 0;
  }
  j->a = A + (size_t)aOff;
  j->lda = (size_t)lda;
  j->M = (size_t)M;
  j->N = (size_t)N;
  j->K = (size_t)K;
  j->out = out + (size_t)oOff;
  j->rs = (size_t)rs;
  j->cs = (size_t)cs;
  j->bias = bias ? bias + (size_t)bOff : NULL;
  return 1;
}

// ---- one kernel call, parsed: what a direct call runs at once and a tape keeps -------------

enum {
  K_GEMM,
  K_BINARY,
  K_SILU,
  K_SOFTMAX,
  K_RMS,
  K_ROPE,
  K_TRANSPOSE,
  K_ROUND,
  K_ATTN,
  K_SLICE,
  K_COPY
};
enum { SLICE_MAX_RANK = 8 };

typedef struct {
  int kind;
  union {
    gemm_job g;
    struct {
      int op, rank, ints;  // ints: int32 arrays (add, sub)
      const void *x, *y;
      void *o;
      int32_t dims[EW_MAX_RANK], sx[EW_MAX_RANK], sy[EW_MAX_RANK];
    } bin;
    struct {
      const float *x;
      float *o;
      size_t n;
    } silu;
    struct {
      const float *x;
      float *o;
      size_t outer, n, inner;
    } sm;
    struct {
      const float *x, *w;
      float *o;
      size_t outer, n, s;
      double eps;
    } rms;
    struct {
      const float *x, *c, *s;
      float *o;
      size_t n, D, T;
    } rope;
    struct {
      const float *src;
      float *dst;
      size_t rows, cols;
    } tr;
    struct {
      float *f;
      size_t n;
    } rh;
    struct {
      const float *q, *k, *v, *mask;
      const int32_t *row;
      float *out;
      size_t mats, M, D, C, Dv, L;
      size_t mask_len;  // L = 0: found when the call runs, as liveColumns does
    } at;
    struct {
      const void *src;
      void *dst;
      size_t n;  // 4-byte elements
    } cp;
    struct {
      const float *u;
      float *x;
      const int32_t *begin, *end;  // read when the call runs: a tape's KV writes move
      int rank;
      int32_t dims[SLICE_MAX_RANK], count[SLICE_MAX_RANK];
    } sl;
  } u;
} op_t;

// Each parser reads a->argv (the JavaScript arguments after the function name), checks every
// range against the arrays, and fills *op; it returns NULL or what is wrong.
typedef const char *(*parser)(args_t *a, size_t argc, op_t *op);

static const char *parse_gemm(args_t *a, size_t argc, op_t *op) {
  if (argc != 16) return "expected 16 arguments";
  gemm_job *j = &op->u.g;
  op->kind = K_GEMM;
  if (!head(a, j)) return "bad arguments or A/out/bias out of range";
  size_t nb;
  const float *b = arr(a, 12, napi_float32_array, &nb, 0);
  double bOff = num(a, 13), ldb = num(a, 14), kn = num(a, 15);
  if (a->bad) return "bad B arguments";
  double last = kn ? bOff + (j->K - 1.0) * ldb + j->N : bOff + (j->N - 1.0) * ldb + j->K;
  if (j->M > 0 && j->N > 0 && j->K > 0 && last > (double)nb) return "B out of range";
  j->b = b + (size_t)bOff;
  j->ldb = (size_t)ldb;
  j->b_kn = kn != 0;
  return NULL;
}

static const char *parse_hgemm(args_t *a, size_t argc, op_t *op) {
  if (argc != 15) return "expected 15 arguments";
  gemm_job *j = &op->u.g;
  op->kind = K_GEMM;
  if (!head(a, j)) return "bad arguments or A/out/bias out of range";
  size_t nb;
  const uint16_t *bh = arr(a, 12, napi_uint16_array, &nb, 0);
  double bOff = num(a, 13), ldb = num(a, 14);
  if (a->bad) return "bad B arguments";
  if (j->M > 0 && j->N > 0 && j->K > 0 && bOff + (j->N - 1.0) * ldb + j->K > (double)nb)
    return "B out of range";
  j->bh = bh + (size_t)bOff;
  j->ldb = (size_t)ldb;
  return NULL;
}

static const char *parse_lut(args_t *a, size_t argc, op_t *op) {
  if (argc < 17 || argc > 18) return "expected 17 or 18 arguments";
  gemm_job *j = &op->u.g;
  op->kind = K_GEMM;
  if (!head(a, j)) return "bad arguments or A/out/bias out of range";
  size_t ni, nl;
  const uint8_t *idx = arr(a, 12, napi_uint8_array, &ni, 0);
  double bits = num(a, 13);
  const float *lut = arr(a, 14, napi_float32_array, &nl, 0);
  double rpg = num(a, 15), row0 = num(a, 16);
  if (a->bad || bits < 1 || bits > 8 || rpg < 1) return "bad LUT arguments";
  double rows = row0 + j->N;
  if (j->N > 0 && (rows * j->K * bits > (double)ni * 8 ||
                   (double)((size_t)(rows - 1) / (size_t)rpg + 1) * (1 << (int)bits) > (double)nl))
    return "indices or tables out of range";
  j->idx = idx;
  j->idx_bytes = ni;
  if (argc == 18) {
    size_t n8;
    j->idx8 = arr(a, 17, napi_uint8_array, &n8, 1);
    if (a->bad || (j->idx8 && (bits != 6 || (j->N > 0 && rows * j->K > (double)n8))))
      return "idx8 out of range (or not 6-bit)";
  }
  j->bits = (int)bits;
  j->lut = lut;
  j->rpg = (size_t)rpg;
  j->row0 = (size_t)row0;
  return NULL;
}

static const char *parse_binary(args_t *a, size_t argc, op_t *op) {
  if (argc != 7) return "expected 7 arguments";
  size_t nx, ny, no, nd, nsx, nsy;
  double o = num(a, 0);
  // float32 arrays, or int32 ones for add and sub
  napi_typedarray_type ty = type_of(a, 1);
  const void *x = arr(a, 1, ty, &nx, 0);
  const void *y = arr(a, 2, ty, &ny, 0);
  void *out = arr(a, 3, ty, &no, 0);
  if (ty != napi_float32_array && (ty != napi_int32_array || o > EW_SUB)) return "bad arguments";
  const int32_t *dims = arr(a, 4, napi_int32_array, &nd, 0);
  const int32_t *sx = arr(a, 5, napi_int32_array, &nsx, 0);
  const int32_t *sy = arr(a, 6, napi_int32_array, &nsy, 0);
  if (a->bad || o > EW_DIV || nd < 1 || nd > EW_MAX_RANK || nsx != nd || nsy != nd)
    return "bad arguments";
  // every element either operand or the output may touch lies inside its array
  double total = 1, lastx = 0, lasty = 0;
  for (size_t d = 0; d < nd; d++) {
    if (dims[d] < 0 || sx[d] < 0 || sy[d] < 0) return "bad plan";
    total *= dims[d];
    lastx += (dims[d] - 1.0) * sx[d];
    lasty += (dims[d] - 1.0) * sy[d];
  }
  if (total > 0 && (total > (double)no || lastx >= (double)nx || lasty >= (double)ny))
    return "plan out of the arrays' range";
  op->kind = K_BINARY;
  op->u.bin.ints = ty == napi_int32_array;
  op->u.bin.op = (int)o;
  op->u.bin.rank = (int)nd;
  op->u.bin.x = x;
  op->u.bin.y = y;
  op->u.bin.o = out;
  // copied: a tape must not depend on the plan arrays staying unchanged
  for (size_t d = 0; d < nd; d++) {
    op->u.bin.dims[d] = dims[d];
    op->u.bin.sx[d] = sx[d];
    op->u.bin.sy[d] = sy[d];
  }
  return NULL;
}

static const char *parse_silu(args_t *a, size_t argc, op_t *op) {
  if (argc != 2) return "expected 2 arguments";
  size_t nx, no;
  const float *x = arr(a, 0, napi_float32_array, &nx, 0);
  float *o = arr(a, 1, napi_float32_array, &no, 0);
  if (a->bad || no < nx) return "bad arguments";
  op->kind = K_SILU;
  op->u.silu.x = x;
  op->u.silu.o = o;
  op->u.silu.n = nx;
  return NULL;
}

static const char *parse_softmax(args_t *a, size_t argc, op_t *op) {
  if (argc != 5) return "expected 5 arguments";
  size_t nx, no;
  const float *x = arr(a, 0, napi_float32_array, &nx, 0);
  float *o = arr(a, 1, napi_float32_array, &no, 0);
  double outer = num(a, 2), n = num(a, 3), inner = num(a, 4);
  if (a->bad || outer * n * inner > (double)nx || outer * n * inner > (double)no)
    return "bad arguments";
  op->kind = K_SOFTMAX;
  op->u.sm.x = x;
  op->u.sm.o = o;
  op->u.sm.outer = (size_t)outer;
  op->u.sm.n = (size_t)n;
  op->u.sm.inner = (size_t)inner;
  return NULL;
}

static const char *parse_rms(args_t *a, size_t argc, op_t *op) {
  if (argc != 7) return "expected 7 arguments";
  size_t nx, no, nw;
  const float *x = arr(a, 0, napi_float32_array, &nx, 0);
  float *o = arr(a, 1, napi_float32_array, &no, 0);
  const float *w = arr(a, 2, napi_float32_array, &nw, 0);
  double outer = num(a, 3), n = num(a, 4), s = num(a, 5), eps = real(a, 6);
  double total = outer * n * s;
  if (a->bad || total > (double)nx || total > (double)no || n > (double)nw)
    return "bad arguments";
  op->kind = K_RMS;
  op->u.rms.x = x;
  op->u.rms.o = o;
  op->u.rms.w = w;
  op->u.rms.outer = (size_t)outer;
  op->u.rms.n = (size_t)n;
  op->u.rms.s = (size_t)s;
  op->u.rms.eps = eps;
  return NULL;
}

static const char *parse_rope(args_t *a, size_t argc, op_t *op) {
  if (argc != 5) return "expected 5 arguments";
  size_t nx, nc, ns, no;
  const float *x = arr(a, 0, napi_float32_array, &nx, 0);
  const float *c = arr(a, 1, napi_float32_array, &nc, 0);
  const float *s = arr(a, 2, napi_float32_array, &ns, 0);
  float *o = arr(a, 3, napi_float32_array, &no, 0);
  double D = num(a, 4);
  if (a->bad || D < 2 || (size_t)D % 2 || nc != ns || nc == 0 || nc % (size_t)D || nx % (size_t)D ||
      no < nx)
    return "bad arguments";
  op->kind = K_ROPE;
  op->u.rope.x = x;
  op->u.rope.c = c;
  op->u.rope.s = s;
  op->u.rope.o = o;
  op->u.rope.n = nx;
  op->u.rope.D = (size_t)D;
  op->u.rope.T = nc;
  return NULL;
}

static const char *parse_transpose(args_t *a, size_t argc, op_t *op) {
  if (argc != 6) return "expected 6 arguments";
  size_t ns, nd;
  const float *src = arr(a, 0, napi_float32_array, &ns, 0);
  float *dst = arr(a, 4, napi_float32_array, &nd, 0);
  double so = num(a, 1), rows = num(a, 2), cols = num(a, 3), d0 = num(a, 5);
  if (a->bad || so + rows * cols > (double)ns || d0 + rows * cols > (double)nd)
    return "bad arguments";
  op->kind = K_TRANSPOSE;
  op->u.tr.src = src + (size_t)so;
  op->u.tr.dst = dst + (size_t)d0;
  op->u.tr.rows = (size_t)rows;
  op->u.tr.cols = (size_t)cols;
  return NULL;
}

static const char *parse_round(args_t *a, size_t argc, op_t *op) {
  if (argc != 3) return "expected 3 arguments";
  size_t n;
  float *f = arr(a, 0, napi_float32_array, &n, 0);
  double s = num(a, 1), e = num(a, 2);
  if (a->bad || s > e || e > (double)n) return "bad arguments";
  op->kind = K_ROUND;
  op->u.rh.f = f + (size_t)s;
  op->u.rh.n = (size_t)(e - s);
  return NULL;
}

static const char *parse_attention(args_t *a, size_t argc, op_t *op) {
  if (argc != 12) return "expected 12 arguments";
  size_t nq, nk, nv, nm, nr, no;
  const float *q = arr(a, 0, napi_float32_array, &nq, 0);
  const float *k = arr(a, 1, napi_float32_array, &nk, 0);
  const float *v = arr(a, 2, napi_float32_array, &nv, 0);
  const float *mask = arr(a, 3, napi_float32_array, &nm, 0);
  const int32_t *row = arr(a, 4, napi_int32_array, &nr, 0);
  float *out = arr(a, 5, napi_float32_array, &no, 0);
  double mats = num(a, 6), M = num(a, 7), D = num(a, 8), C = num(a, 9), Dv = num(a, 10),
         L = num(a, 11);
  if (a->bad || M > 4 || L > C || Dv < 2 || C < 1 || nq < mats * M * D || nk < mats * C * D ||
      nv < mats * C * Dv || no < mats * M * Dv || nr < mats * M)
    return "bad arguments";
  // L = 0: the live columns are found from the mask when the call runs (any width up to C)
  for (size_t r = 0; r < (size_t)(mats * M); r++)
    if (row[r] < 0 || row[r] + (L ? L : C) > (double)nm) return "mask rows out of range";
  op->kind = K_ATTN;
  op->u.at.q = q;
  op->u.at.k = k;
  op->u.at.v = v;
  op->u.at.mask = mask;
  op->u.at.row = row;
  op->u.at.out = out;
  op->u.at.mats = (size_t)mats;
  op->u.at.M = (size_t)M;
  op->u.at.D = (size_t)D;
  op->u.at.C = (size_t)C;
  op->u.at.Dv = (size_t)Dv;
  op->u.at.L = (size_t)L;
  op->u.at.mask_len = nm;
  return NULL;
}

// fuse-attention.ts's liveColumns: one past the last column of the [·, C] mask that is not −∞ in
// some row, rounded up to whole blocks of 32 (at least one), at most C.
static size_t live_columns(const float *mask, size_t n, size_t C) {
  size_t live = 0;
  for (size_t base = 0; base < n && live < C; base += C)
    for (size_t c = C; c-- > live;)
      if (base + c >= n || mask[base + c] != -INFINITY) {  // as JavaScript's undefined
        live = c + 1;
        break;
      }
  size_t blocks = (live + 31) / 32;
  size_t L = (blocks ? blocks : 1) * 32;
  return L < C ? L : C;
}

// copy(src, srcOff, dst, dstOff, n): n elements of one 4-byte type (float32 or int32).
static const char *parse_copy(args_t *a, size_t argc, op_t *op) {
  if (argc != 5) return "expected 5 arguments";
  size_t ns, nd;
  napi_typedarray_type ty = type_of(a, 0);
  if (ty != napi_float32_array && ty != napi_int32_array) return "bad arguments";
  const char *src = arr(a, 0, ty, &ns, 0);
  char *dst = arr(a, 2, ty, &nd, 0);
  double so = num(a, 1), d0 = num(a, 3), n = num(a, 4);
  if (a->bad || so + n > (double)ns || d0 + n > (double)nd) return "bad arguments";
  op->kind = K_COPY;
  op->u.cp.src = src + 4 * (size_t)so;
  op->u.cp.dst = dst + 4 * (size_t)d0;
  op->u.cp.n = (size_t)n;
  return NULL;
}

// sliceWrite(u, x, begin, end, dims, count): x[begin:end] = u in place, x of shape dims, the
// slice count[d] = end[d] − begin[d] long on each axis (negative bounds count from the end). The
// bounds are read when the call runs; a slice that no longer fits fails (-1), writing nothing.
static const char *parse_slice(args_t *a, size_t argc, op_t *op) {
  if (argc != 6) return "expected 6 arguments";
  size_t nu, nx, nb, ne, nd, nc;
  const float *u = arr(a, 0, napi_float32_array, &nu, 0);
  float *x = arr(a, 1, napi_float32_array, &nx, 0);
  const int32_t *begin = arr(a, 2, napi_int32_array, &nb, 0);
  const int32_t *end = arr(a, 3, napi_int32_array, &ne, 0);
  const int32_t *dims = arr(a, 4, napi_int32_array, &nd, 0);
  const int32_t *count = arr(a, 5, napi_int32_array, &nc, 0);
  if (a->bad || nd < 1 || nd > SLICE_MAX_RANK || nb != nd || ne != nd || nc != nd)
    return "bad arguments";
  double total = 1, cells = 1;
  for (size_t d = 0; d < nd; d++) {
    if (dims[d] < 0 || count[d] < 0 || count[d] > dims[d]) return "bad shape";
    total *= count[d];
    cells *= dims[d];
  }
  if (total != (double)nu || cells != (double)nx) return "update or x does not match the shapes";
  op->kind = K_SLICE;
  op->u.sl.u = u;
  op->u.sl.x = x;
  op->u.sl.begin = begin;
  op->u.sl.end = end;
  op->u.sl.rank = (int)nd;
  for (size_t d = 0; d < nd; d++) {
    op->u.sl.dims[d] = dims[d];
    op->u.sl.count[d] = count[d];
  }
  return NULL;
}

static int slice_write(const op_t *op) {
  const int r = op->u.sl.rank;
  const int32_t *dims = op->u.sl.dims, *count = op->u.sl.count;
  size_t stride[SLICE_MAX_RANK], base = 0, s = 1;
  for (int d = r - 1; d >= 0; d--) {
    stride[d] = s;
    s *= (size_t)dims[d];
  }
  for (int d = 0; d < r; d++) {
    int64_t b = op->u.sl.begin[d], e = op->u.sl.end[d];
    if (b < 0) b += dims[d];
    if (e < 0) e += dims[d];
    if (b < 0 || e > dims[d] || e - b != count[d]) return -1;
    base += (size_t)b * stride[d];
  }
  size_t n = (size_t)count[r - 1], rows = 1;
  for (int d = 0; d < r - 1; d++) rows *= (size_t)count[d];
  if (n == 0) return 1;
  size_t idx[SLICE_MAX_RANK] = {0};
  for (size_t q = 0; q < rows; q++) {
    size_t off = base;
    for (int d = 0; d < r - 1; d++) off += idx[d] * stride[d];
    memcpy(op->u.sl.x + off, op->u.sl.u + q * n, n * sizeof(float));
    for (int d = r - 2; d >= 0; d--) {
      if (++idx[d] < (size_t)count[d]) break;
      idx[d] = 0;
    }
  }
  return 1;
}

// Runs a parsed call: 1, 0 when out of memory, -1 when a slice no longer fits.
static int exec(const op_t *op) {
  switch (op->kind) {
    case K_GEMM: return gemm_run(&op->u.g);
    case K_BINARY:
      if (op->u.bin.ints)
        binary_i32(op->u.bin.op, op->u.bin.x, op->u.bin.y, op->u.bin.o, op->u.bin.rank,
                   op->u.bin.dims, op->u.bin.sx, op->u.bin.sy);
      else
        binary_f32(op->u.bin.op, op->u.bin.x, op->u.bin.y, op->u.bin.o, op->u.bin.rank,
                   op->u.bin.dims, op->u.bin.sx, op->u.bin.sy);
      return 1;
    case K_COPY: memmove(op->u.cp.dst, op->u.cp.src, op->u.cp.n * 4); return 1;
    case K_SILU: silu_f32(op->u.silu.x, op->u.silu.o, op->u.silu.n); return 1;
    case K_SOFTMAX:
      softmax_f32(op->u.sm.x, op->u.sm.o, op->u.sm.outer, op->u.sm.n, op->u.sm.inner);
      return 1;
    case K_RMS:
      return rms_pair_f32(op->u.rms.x, op->u.rms.o, op->u.rms.w, op->u.rms.outer, op->u.rms.n,
                          op->u.rms.s, op->u.rms.eps);
    case K_ROPE:
      return rope_f32(op->u.rope.x, op->u.rope.c, op->u.rope.s, op->u.rope.o, op->u.rope.n,
                      op->u.rope.D, op->u.rope.T);
    case K_TRANSPOSE: transpose_f32(op->u.tr.src, op->u.tr.rows, op->u.tr.cols, op->u.tr.dst); return 1;
    case K_ROUND: round_half(op->u.rh.f, op->u.rh.n); return 1;
    case K_ATTN:
      return attention_f32(
          op->u.at.q, op->u.at.k, op->u.at.v, op->u.at.mask, op->u.at.row, op->u.at.out,
          op->u.at.mats, op->u.at.M, op->u.at.D, op->u.at.C, op->u.at.Dv,
          op->u.at.L ? op->u.at.L : live_columns(op->u.at.mask, op->u.at.mask_len, op->u.at.C));
    case K_SLICE: return slice_write(op);
  }
  return 1;
}

static const struct {
  const char *name;
  parser parse;
  size_t max_args;
} KERNELS[] = {{"gemm", parse_gemm, 16},          {"hgemm", parse_hgemm, 15},
               {"lutGemm", parse_lut, 18},        {"binary", parse_binary, 7},
               {"silu", parse_silu, 2},           {"softmax", parse_softmax, 5},
               {"rmsPair", parse_rms, 7},         {"rope", parse_rope, 5},
               {"transpose", parse_transpose, 6}, {"roundHalf", parse_round, 3},
               {"attention", parse_attention, 12}, {"sliceWrite", parse_slice, 6},
               {"copy", parse_copy, 5}};
enum { N_KERNELS = sizeof KERNELS / sizeof KERNELS[0], MAX_ARGS = 18 };

// A direct call: data is the KERNELS index.
static napi_value Direct(napi_env env, napi_callback_info info) {
  size_t argc = MAX_ARGS + 1;
  napi_value argv[MAX_ARGS + 1];
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return NULL;
  size_t which = (size_t)data;
  const char *fn = KERNELS[which].name;
  if (argc > KERNELS[which].max_args) return fail(env, fn, "too many arguments");
  args_t a = {env, argv, fn, 0};
  op_t op;
  memset(&op, 0, sizeof op);
  const char *err = KERNELS[which].parse(&a, argc, &op);
  if (err) return fail(env, fn, err);
  int done = exec(&op);
  if (done < 0) return fail(env, fn, "the slice is outside x or not count long");
  if (!done) return fail(env, fn, "out of memory");
  return NULL;
}

// ---- tapes: a recorded sequence of kernel calls, replayed in one call --------------------------
// The arrays stay alive and in place as long as the JavaScript Tape holds them (src/runtime/
// tape.ts); a tape is only run by it.

typedef struct {
  size_t n;
  op_t ops[];
} tape_t;

static void tape_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

// tapeCreate(calls): calls is an array of [name, ...arguments] as the direct call takes them.
static napi_value TapeCreate(napi_env env, napi_callback_info info) {
  TAKE_ARGS(1, "tapeCreate");
  (void)a;
  uint32_t n;
  if (napi_get_array_length(env, argv[0], &n) != napi_ok) return fail(env, "tapeCreate", "expected an array of calls");
  tape_t *t = malloc(sizeof(tape_t) + (n ? n : 1) * sizeof(op_t));
  if (!t) return fail(env, "tapeCreate", "out of memory");
  t->n = n;
  for (uint32_t i = 0; i < n; i++) {
    napi_value call, name;
    uint32_t len;
    char text[32];
    size_t tl;
    if (napi_get_element(env, argv[0], i, &call) != napi_ok ||
        napi_get_array_length(env, call, &len) != napi_ok || len < 1 || len > MAX_ARGS + 1 ||
        napi_get_element(env, call, 0, &name) != napi_ok ||
        napi_get_value_string_utf8(env, name, text, sizeof text, &tl) != napi_ok) {
      free(t);
      return fail(env, "tapeCreate", "a call is not [name, ...arguments]");
    }
    size_t which = N_KERNELS;
    for (size_t k = 0; k < N_KERNELS; k++)
      if (strcmp(text, KERNELS[k].name) == 0) which = k;
    napi_value args[MAX_ARGS];
    for (uint32_t j = 1; j < len; j++) napi_get_element(env, call, j, &args[j - 1]);
    if (which == N_KERNELS || len - 1 > KERNELS[which].max_args) {
      free(t);
      return fail(env, "tapeCreate", "unknown kernel or too many arguments");
    }
    args_t pa = {env, args, KERNELS[which].name, 0};
    memset(&t->ops[i], 0, sizeof t->ops[i]);
    const char *err = KERNELS[which].parse(&pa, len - 1, &t->ops[i]);
    if (err) {
      free(t);
      return fail(env, KERNELS[which].name, err);
    }
  }
  napi_value ext;
  if (napi_create_external(env, t, tape_free, NULL, &ext) != napi_ok) {
    free(t);
    return fail(env, "tapeCreate", "cannot wrap the tape");
  }
  return ext;
}

static napi_value TapeRun(napi_env env, napi_callback_info info) {
  TAKE_ARGS(1, "tapeRun");
  (void)a;
  void *data;
  napi_valuetype type;
  if (napi_typeof(env, argv[0], &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, argv[0], &data) != napi_ok)
    return fail(env, "tapeRun", "expected a tape");
  const tape_t *t = data;
  for (size_t i = 0; i < t->n; i++) {
    int done = exec(&t->ops[i]);
    if (done < 0) return fail(env, "tapeRun", "a KV-cache write moved outside its slice");
    if (!done) return fail(env, "tapeRun", "out of memory");
  }
  return NULL;
}

static napi_value Info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o, isa, threads;
  napi_create_object(env, &o);
  napi_create_string_utf8(env, gemm_isa(), NAPI_AUTO_LENGTH, &isa);
  napi_create_int32(env, pool_threads(), &threads);
  napi_set_named_property(env, o, "isa", isa);
  napi_set_named_property(env, o, "threads", threads);
  return o;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  TAKE_ARGS(1, "setThreads");
  napi_value r;
  double n = num(&a, 0);
  if (a.bad || n < 1) return fail(env, "setThreads", "expected a positive integer");
  napi_create_int32(env, pool_set_threads(n > 64 ? 64 : (int)n), &r);
  return r;
}

NAPI_MODULE_INIT() {
  // `kernels` names them: the ones a tape may hold, and the calls a recording logs
  napi_value names;
  if (napi_create_array_with_length(env, N_KERNELS, &names) != napi_ok) return NULL;
  for (size_t i = 0; i < N_KERNELS; i++) {
    napi_value f, name;
    if (napi_create_function(env, KERNELS[i].name, NAPI_AUTO_LENGTH, Direct, (void *)i, &f) !=
            napi_ok ||
        napi_set_named_property(env, exports, KERNELS[i].name, f) != napi_ok ||
        napi_create_string_utf8(env, KERNELS[i].name, NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_set_element(env, names, (uint32_t)i, name) != napi_ok)
      return NULL;
  }
  if (napi_set_named_property(env, exports, "kernels", names) != napi_ok) return NULL;
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"tapeCreate", TapeCreate}, {"tapeRun", TapeRun}, {"info", Info}, {"setThreads", SetThreads}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  return exports;
}
