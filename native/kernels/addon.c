// Node-API binding of the run-time kernels (src/runtime/native.ts is the TypeScript side):
//   gemm(a, aOff, lda, M, N, K, out, outOff, rs, cs, bias, biasOff, b, bOff, ldb, bKN)
//   lutGemm(a, aOff, lda, M, N, K, out, outOff, rs, cs, bias, biasOff, idx, bits, lut, rpg, row0
//           [, idx8])   idx8: a 6-bit B as encoded index bytes (gemm.h), or null
//   hgemm(a, aOff, lda, M, N, K, out, outOff, rs, cs, bias, biasOff, bh, bOff, ldb)
//   binary(op, x, y, out, dims, sx, sy)   op: 0 add, 1 sub, 2 mul, 3 real_div; Int32Array plans
//   silu(x, out);  softmax(x, out, outer, n, inner);  rmsPair(x, out, w, outer, n, s, eps);
//   rope(x, cos, sin, out, D);  transpose(src, srcOff, rows, cols, dst, dstOff)
//   roundHalf(f, start, end)
//   attention(q, k, v, mask, maskRow, out, mats, M, D, C, Dv, L)   maskRow an Int32Array
//   info() -> { isa, threads };  setThreads(n) -> n
// Float arrays are Float32Array, idx a Uint8Array, bias a Float32Array or null. Every element a
// kernel may touch is checked against the arrays here: a wrong argument throws, never corrupts.
#include <math.h>
#include <node_api.h>
#include <stdio.h>

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

static napi_value run(napi_env env, const char *fn, gemm_job *j) {
  if (!gemm_run(j)) return fail(env, fn, "out of memory");
  return NULL;
}

static napi_value Gemm(napi_env env, napi_callback_info info) {
  TAKE_ARGS(16, "gemm");
  gemm_job j = {0};
  if (!head(&a, &j)) return fail(env, "gemm", "bad arguments or A/out/bias out of range");
  size_t nb;
  const float *b = arr(&a, 12, napi_float32_array, &nb, 0);
  double bOff = num(&a, 13), ldb = num(&a, 14), kn = num(&a, 15);
  if (a.bad) return fail(env, "gemm", "bad B arguments");
  double last = kn ? bOff + (j.K - 1.0) * ldb + j.N : bOff + (j.N - 1.0) * ldb + j.K;
  if (j.M > 0 && j.N > 0 && j.K > 0 && last > (double)nb)
    return fail(env, "gemm", "B out of range");
  j.b = b + (size_t)bOff;
  j.ldb = (size_t)ldb;
  j.b_kn = kn != 0;
  return run(env, "gemm", &j);
}

static napi_value Hgemm(napi_env env, napi_callback_info info) {
  TAKE_ARGS(15, "hgemm");
  gemm_job j = {0};
  if (!head(&a, &j)) return fail(env, "hgemm", "bad arguments or A/out/bias out of range");
  size_t nb;
  const uint16_t *bh = arr(&a, 12, napi_uint16_array, &nb, 0);
  double bOff = num(&a, 13), ldb = num(&a, 14);
  if (a.bad) return fail(env, "hgemm", "bad B arguments");
  if (j.M > 0 && j.N > 0 && j.K > 0 && bOff + (j.N - 1.0) * ldb + j.K > (double)nb)
    return fail(env, "hgemm", "B out of range");
  j.bh = bh + (size_t)bOff;
  j.ldb = (size_t)ldb;
  return run(env, "hgemm", &j);
}

static napi_value LutGemm(napi_env env, napi_callback_info info) {
  size_t argc = 18;
  napi_value argv[18];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 17 || argc > 18)
    return fail(env, "lutGemm", "expected 17 or 18 arguments");
  args_t a = {env, argv, "lutGemm", 0};
  gemm_job j = {0};
  if (!head(&a, &j)) return fail(env, "lutGemm", "bad arguments or A/out/bias out of range");
  size_t ni, nl;
  const uint8_t *idx = arr(&a, 12, napi_uint8_array, &ni, 0);
  double bits = num(&a, 13);
  const float *lut = arr(&a, 14, napi_float32_array, &nl, 0);
  double rpg = num(&a, 15), row0 = num(&a, 16);
  if (a.bad || bits < 1 || bits > 8 || rpg < 1) return fail(env, "lutGemm", "bad LUT arguments");
  double rows = row0 + j.N;
  if (j.N > 0 && (rows * j.K * bits > (double)ni * 8 ||
                  (double)((size_t)(rows - 1) / (size_t)rpg + 1) * (1 << (int)bits) > (double)nl))
    return fail(env, "lutGemm", "indices or tables out of range");
  j.idx = idx;
  j.idx_bytes = ni;
  if (argc == 18) {
    size_t n8;
    j.idx8 = arr(&a, 17, napi_uint8_array, &n8, 1);
    if (a.bad || (j.idx8 && (bits != 6 || (j.N > 0 && rows * j.K > (double)n8))))
      return fail(env, "lutGemm", "idx8 out of range (or not 6-bit)");
  }
  j.bits = (int)bits;
  j.lut = lut;
  j.rpg = (size_t)rpg;
  j.row0 = (size_t)row0;
  return run(env, "lutGemm", &j);
}

static napi_value Binary(napi_env env, napi_callback_info info) {
  TAKE_ARGS(7, "binary");
  size_t nx, ny, no, nd, nsx, nsy;
  double op = num(&a, 0);
  const float *x = arr(&a, 1, napi_float32_array, &nx, 0);
  const float *y = arr(&a, 2, napi_float32_array, &ny, 0);
  float *o = arr(&a, 3, napi_float32_array, &no, 0);
  const int32_t *dims = arr(&a, 4, napi_int32_array, &nd, 0);
  const int32_t *sx = arr(&a, 5, napi_int32_array, &nsx, 0);
  const int32_t *sy = arr(&a, 6, napi_int32_array, &nsy, 0);
  if (a.bad || op > EW_DIV || nd < 1 || nd > EW_MAX_RANK || nsx != nd || nsy != nd)
    return fail(env, "binary", "bad arguments");
  // every element either operand or the output may touch lies inside its array
  double total = 1, lastx = 0, lasty = 0;
  for (size_t d = 0; d < nd; d++) {
    if (dims[d] < 0 || sx[d] < 0 || sy[d] < 0) return fail(env, "binary", "bad plan");
    total *= dims[d];
    lastx += (dims[d] - 1.0) * sx[d];
    lasty += (dims[d] - 1.0) * sy[d];
  }
  if (total > 0 && (total > (double)no || lastx >= (double)nx || lasty >= (double)ny))
    return fail(env, "binary", "plan out of the arrays' range");
  binary_f32((int)op, x, y, o, (int)nd, dims, sx, sy);
  return NULL;
}

static napi_value Silu(napi_env env, napi_callback_info info) {
  TAKE_ARGS(2, "silu");
  size_t nx, no;
  const float *x = arr(&a, 0, napi_float32_array, &nx, 0);
  float *o = arr(&a, 1, napi_float32_array, &no, 0);
  if (a.bad || no < nx) return fail(env, "silu", "bad arguments");
  silu_f32(x, o, nx);
  return NULL;
}

static napi_value Softmax(napi_env env, napi_callback_info info) {
  TAKE_ARGS(5, "softmax");
  size_t nx, no;
  const float *x = arr(&a, 0, napi_float32_array, &nx, 0);
  float *o = arr(&a, 1, napi_float32_array, &no, 0);
  double outer = num(&a, 2), n = num(&a, 3), inner = num(&a, 4);
  if (a.bad || outer * n * inner > (double)nx || outer * n * inner > (double)no)
    return fail(env, "softmax", "bad arguments");
  softmax_f32(x, o, (size_t)outer, (size_t)n, (size_t)inner);
  return NULL;
}

static napi_value RmsPair(napi_env env, napi_callback_info info) {
  TAKE_ARGS(7, "rmsPair");
  size_t nx, no, nw;
  const float *x = arr(&a, 0, napi_float32_array, &nx, 0);
  float *o = arr(&a, 1, napi_float32_array, &no, 0);
  const float *w = arr(&a, 2, napi_float32_array, &nw, 0);
  double outer = num(&a, 3), n = num(&a, 4), s = num(&a, 5), eps = real(&a, 6);
  double total = outer * n * s;
  if (a.bad || total > (double)nx || total > (double)no || n > (double)nw)
    return fail(env, "rmsPair", "bad arguments");
  if (!rms_pair_f32(x, o, w, (size_t)outer, (size_t)n, (size_t)s, eps))
    return fail(env, "rmsPair", "out of memory");
  return NULL;
}

static napi_value Rope(napi_env env, napi_callback_info info) {
  TAKE_ARGS(5, "rope");
  size_t nx, nc, ns, no;
  const float *x = arr(&a, 0, napi_float32_array, &nx, 0);
  const float *c = arr(&a, 1, napi_float32_array, &nc, 0);
  const float *s = arr(&a, 2, napi_float32_array, &ns, 0);
  float *o = arr(&a, 3, napi_float32_array, &no, 0);
  double D = num(&a, 4);
  if (a.bad || D < 2 || (size_t)D % 2 || nc != ns || nc == 0 || nc % (size_t)D || nx % (size_t)D ||
      no < nx)
    return fail(env, "rope", "bad arguments");
  if (!rope_f32(x, c, s, o, nx, (size_t)D, nc)) return fail(env, "rope", "out of memory");
  return NULL;
}

static napi_value Transpose(napi_env env, napi_callback_info info) {
  TAKE_ARGS(6, "transpose");
  size_t ns, nd;
  const float *src = arr(&a, 0, napi_float32_array, &ns, 0);
  float *dst = arr(&a, 4, napi_float32_array, &nd, 0);
  double so = num(&a, 1), rows = num(&a, 2), cols = num(&a, 3), d0 = num(&a, 5);
  if (a.bad || so + rows * cols > (double)ns || d0 + rows * cols > (double)nd)
    return fail(env, "transpose", "bad arguments");
  transpose_f32(src + (size_t)so, (size_t)rows, (size_t)cols, dst + (size_t)d0);
  return NULL;
}

static napi_value RoundHalf(napi_env env, napi_callback_info info) {
  TAKE_ARGS(3, "roundHalf");
  size_t n;
  float *f = arr(&a, 0, napi_float32_array, &n, 0);
  double s = num(&a, 1), e = num(&a, 2);
  if (a.bad || s > e || e > (double)n) return fail(env, "roundHalf", "bad arguments");
  round_half(f + (size_t)s, (size_t)(e - s));
  return NULL;
}

static napi_value Attention(napi_env env, napi_callback_info info) {
  TAKE_ARGS(12, "attention");
  size_t nq, nk, nv, nm, nr, no;
  const float *q = arr(&a, 0, napi_float32_array, &nq, 0);
  const float *k = arr(&a, 1, napi_float32_array, &nk, 0);
  const float *v = arr(&a, 2, napi_float32_array, &nv, 0);
  const float *mask = arr(&a, 3, napi_float32_array, &nm, 0);
  const int32_t *row = arr(&a, 4, napi_int32_array, &nr, 0);
  float *out = arr(&a, 5, napi_float32_array, &no, 0);
  double mats = num(&a, 6), M = num(&a, 7), D = num(&a, 8), C = num(&a, 9), Dv = num(&a, 10),
         L = num(&a, 11);
  if (a.bad || M > 4 || L > C || Dv < 2 || nq < mats * M * D || nk < mats * C * D ||
      nv < mats * C * Dv || no < mats * M * Dv || nr < mats * M)
    return fail(env, "attention", "bad arguments");
  for (size_t r = 0; r < (size_t)(mats * M); r++)
    if (row[r] < 0 || row[r] + L > (double)nm) return fail(env, "attention", "mask rows out of range");
  if (!attention_f32(q, k, v, mask, row, out, (size_t)mats, (size_t)M, (size_t)D, (size_t)C,
                     (size_t)Dv, (size_t)L))
    return fail(env, "attention", "out of memory");
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
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"gemm", Gemm},         {"hgemm", Hgemm}, {"lutGemm", LutGemm},
             {"roundHalf", RoundHalf}, {"binary", Binary}, {"silu", Silu}, {"softmax", Softmax}, {"rmsPair", RmsPair}, {"rope", Rope}, {"transpose", Transpose}, {"attention", Attention}, {"info", Info},   {"setThreads", SetThreads}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  return exports;
}
