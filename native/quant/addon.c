// Node-API binding of the palettization kernel:
//   palettizeGroups(src: Uint16Array (fp16 bits) | Float32Array, bits, groupElems, g0, g1,
//                   out: Uint8Array, lut: Uint16Array, err: Float64Array,
//                   importance?: Float64Array (per element of an output channel)): void
// Arrays may live in SharedArrayBuffers (worker threads call it on the same job).
#include <node_api.h>

#include "kernel.h"

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) != napi_ok) return 0;
  return type == want;
}

static int integer(napi_env env, napi_value v, double *out) {
  return napi_get_value_double(env, v, out) == napi_ok && *out >= 0 && *out <= 9007199254740991.0 &&
         *out == (double)(int64_t)*out;
}

static napi_value PalettizeGroups(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 8 || argc > 9)
    return fail(env, "palettizeGroups: expected 8 or 9 arguments");
  void *src, *out, *lut, *err;
  size_t n_src, n_out, n_lut, n_err;
  double bits, ge, g0, g1;
  int f32 = typed(env, argv[0], napi_float32_array, &src, &n_src);
  if (!(f32 || typed(env, argv[0], napi_uint16_array, &src, &n_src)) ||
      !typed(env, argv[5], napi_uint8_array, &out, &n_out) ||
      !typed(env, argv[6], napi_uint16_array, &lut, &n_lut) ||
      !typed(env, argv[7], napi_float64_array, &err, &n_err))
    return fail(env, "palettizeGroups: expected Uint16Array | Float32Array, Uint8Array, Uint16Array, Float64Array");
  if (!integer(env, argv[1], &bits) || !integer(env, argv[2], &ge) || !integer(env, argv[3], &g0) ||
      !integer(env, argv[4], &g1))
    return fail(env, "palettizeGroups: bits, groupElems, g0, g1 must be non-negative integers");
  int b = (int)bits;
  if (!(b == 2 || b == 3 || b == 4 || b == 6 || b == 8))
    return fail(env, "palettizeGroups: bits must be 2, 3, 4, 6 or 8");
  size_t e = (size_t)ge, lo = (size_t)g0, hi = (size_t)g1;
  // Every group must lie inside every array: the kernel trusts these bounds.
  if (e == 0 || lo > hi || hi > n_src / e || hi * e * (size_t)b > n_out * 8 ||
      hi > n_lut >> b || hi > n_err / 2)
    return fail(env, "palettizeGroups: groups out of the arrays' bounds");
  void *imp = NULL;
  size_t period = 0;
  napi_valuetype t = napi_undefined;
  if (argc == 9 && napi_typeof(env, argv[8], &t) != napi_ok)
    return fail(env, "palettizeGroups: cannot read importance");
  if (argc == 9 && t != napi_undefined && t != napi_null) {
    if (!typed(env, argv[8], napi_float64_array, &imp, &period))
      return fail(env, "palettizeGroups: importance must be a Float64Array");
    if (period == 0 || e % period != 0)
      return fail(env, "palettizeGroups: importance length must divide groupElems");
  }
  const uint16_t *src16 = f32 ? NULL : src;
  const uint32_t *src32 = f32 ? src : NULL;
  if (!palettize_groups(src16, src32, b, e, lo, hi, out, lut, err, imp, period))
    return fail(env, "palettizeGroups: out of memory");
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "palettizeGroups", NAPI_AUTO_LENGTH, PalettizeGroups, NULL, &fn) !=
          napi_ok ||
      napi_set_named_property(env, exports, "palettizeGroups", fn) != napi_ok)
    return NULL;
  return exports;
}
