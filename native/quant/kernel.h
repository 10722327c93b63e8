// Palettization kernel (see kernel.c and src/quant/kernel.ts, which it mirrors byte for byte).
#ifndef ANEMLL_QUANT_KERNEL_H
#define ANEMLL_QUANT_KERNEL_H

#include <stddef.h>
#include <stdint.h>

// Palettizes groups [g0, g1) of a tensor given as fp16 bit patterns (`src16`) or as float32 bit
// patterns (`src32`, rounded to fp16 as read; the other pointer is NULL). Writes packed indices
// into `out` (LSB-first), each group's 2^bits fp16 LUT into `lut`, and [Σx², Σ(x − x̂)²] per group
// into `err` (NaN first slot: the group holds NaN/Inf). `importance` (NULL: every weight counts
// once) weighs element i of a group by importance[i mod period] in the k-means and the errors;
// `period` divides group_elems. Returns 0 when out of memory.
int palettize_groups(const uint16_t *src16, const uint32_t *src32, int bits, size_t group_elems,
                     size_t g0, size_t g1, uint8_t *out, uint16_t *lut, double *err,
                     const double *importance, size_t period);

#endif
