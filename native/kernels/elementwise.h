#ifndef ANEMLL_ELEMENTWISE_H
#define ANEMLL_ELEMENTWISE_H

#include <stddef.h>
#include <stdint.h>

enum { EW_ADD = 0, EW_SUB = 1, EW_MUL = 2, EW_DIV = 3, EW_MAX_RANK = 16 };

/** o[...] = x op y over a row-major output of shape dims[0..rank); sx/sy: operand strides. */
void binary_f32(int op, const float *x, const float *y, float *o, int rank, const int32_t *dims,
                const int32_t *sx, const int32_t *sy);

/** binary_f32 for int32 add and sub (wrapping, as an Int32Array stores the exact sum). */
void binary_i32(int op, const int32_t *x, const int32_t *y, int32_t *o, int rank,
                const int32_t *dims, const int32_t *sx, const int32_t *sy);

/** o = x / (1 + exp(−x)), as the TypeScript silu. */
void silu_f32(const float *x, float *o, size_t n);

/** softmax over the middle dim of x viewed as [outer, n, inner], as softmaxInto. */
void softmax_f32(const float *x, float *o, size_t outer, size_t n, size_t inner);

/** softmax over each of `rows` contiguous rows of n, on the calling thread (as softmax_f32). */
void softmax_rows_f32(const float *x, float *o, size_t rows, size_t n);

/** fuse.ts's rms_norm_pair over x viewed as [outer, n, s] (n along the axis); 0 when out of memory. */
int rms_pair_f32(const float *x, float *o, const float *w, size_t outer, size_t n, size_t s,
                 double eps);

/** fuse.ts's rotate_half: x [N] in rows of D (even), cos/sin repeating every T (a multiple of
 * D); 0 when out of memory. */
int rope_f32(const float *x, const float *cos, const float *sin, float *o, size_t N, size_t D,
             size_t T);

#endif
