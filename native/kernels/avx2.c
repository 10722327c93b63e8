// AVX2 + FMA + F16C versions of the isa_kernels (x86-64 only; chosen at run time by gemm.c).
// LUT lookups: tables of up to 16 floats sit in two registers and are read with vpermps (the
// index's bit 3 picks the register); larger tables (6- and 8-bit) use gathers.
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "isa.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE AVX2 __attribute__((always_inline)) static inline

INLINE float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Scalar accumulators, not arrays: GCC keeps them in registers (12 of the 16 ymm).
#define MICRO_ROW(i)                                                                           \
  if (mr > i) {                                                                                \
    __m256 av = _mm256_broadcast_ss(a + i * lda + k);                                          \
    c##i##0 = _mm256_fmadd_ps(av, b0, c##i##0);                                                \
    c##i##1 = _mm256_fmadd_ps(av, b1, c##i##1);                                                \
  }
#define MICRO_STORE(i)                                                                         \
  if (mr > i) {                                                                                \
    _mm256_storeu_ps(ct + i * NR, c##i##0);                                                    \
    _mm256_storeu_ps(ct + i * NR + 8, c##i##1);                                                \
  }

#define MICRO_LOAD(i)                                                                          \
  if (mr > i) {                                                                                \
    c##i##0 = _mm256_loadu_ps(ct + i * NR);                                                    \
    c##i##1 = _mm256_loadu_ps(ct + i * NR + 8);                                                \
  }

INLINE void micro_n(const int mr, const float *a, size_t lda, const float *P, size_t K, float *ct,
                    int load) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  if (load) {
    MICRO_LOAD(0) MICRO_LOAD(1) MICRO_LOAD(2) MICRO_LOAD(3) MICRO_LOAD(4) MICRO_LOAD(5)
  }
  for (size_t k = 0; k < K; k++) {
    __m256 b0 = _mm256_load_ps(P + k * NR);
    __m256 b1 = _mm256_load_ps(P + k * NR + 8);
    MICRO_ROW(0) MICRO_ROW(1) MICRO_ROW(2) MICRO_ROW(3) MICRO_ROW(4) MICRO_ROW(5)
  }
  MICRO_STORE(0) MICRO_STORE(1) MICRO_STORE(2) MICRO_STORE(3) MICRO_STORE(4) MICRO_STORE(5)
}

AVX2 static void micro(int mr, const float *a, size_t lda, const float *P, size_t K, float *ct,
                       int load) {
  switch (mr) {
    case 6: micro_n(6, a, lda, P, K, ct, load); break;
    case 5: micro_n(5, a, lda, P, K, ct, load); break;
    case 4: micro_n(4, a, lda, P, K, ct, load); break;
    case 3: micro_n(3, a, lda, P, K, ct, load); break;
    case 2: micro_n(2, a, lda, P, K, ct, load); break;
    default: micro_n(1, a, lda, P, K, ct, load); break;
  }
}

// 16-entry table lookup of eight 4-bit indices.
INLINE __m256 lookup16(__m256 t0, __m256 t1, __m256i i) {
  __m256 lo = _mm256_permutevar8x32_ps(t0, i);
  __m256 hi = _mm256_permutevar8x32_ps(t1, i);
  return _mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(_mm256_slli_epi32(i, 28)));
}

// Per bit width: the byte shuffle that puts each of 8 indices' two bytes in its own lane, and
// the right shift that aligns it (the 8 indices take `bits` bytes).
typedef struct {
  uint8_t shuf[32];
  uint32_t shift[8];
} unpack_t;

static unpack_t make_unpacker(int bits) {
  uint8_t sh[32];
  uint32_t sr[8];
  for (int i = 0; i < 8; i++) {
    int p = i * bits, b = p >> 3, q = (i & 3) * 4 + (i >= 4 ? 16 : 0);
    sh[q] = (uint8_t)b;
    sh[q + 1] = (uint8_t)(b + 1);
    sh[q + 2] = sh[q + 3] = 0x80;
    sr[i] = (uint32_t)(p & 7);
  }
  unpack_t u;
  memcpy(u.shuf, sh, 32);
  memcpy(u.shift, sr, 32);
  return u;
}

static unpack_t UNPACK[9];

// Called once, from the thread that picks the ISA, before any kernel runs.
void avx2_init(void) {
  for (int b = 1; b <= 8; b++) UNPACK[b] = make_unpacker(b);
}

// Eight indices from p (needs 8 readable bytes).
INLINE __m256i unpack8(const uint8_t *p, __m256i shuf, __m256i shift, __m256i mask) {
  __m256i v = _mm256_broadcastsi128_si256(_mm_loadl_epi64((const __m128i *)p));
  return _mm256_and_si256(_mm256_srlv_epi32(_mm256_shuffle_epi8(v, shuf), shift), mask);
}

// Runs f(k, values of columns k..k+7) over a row for any width, handling ragged ends in scalar.
// Returns the first column not handled (the caller finishes the row with index_at).
#define ROW_LOOP(j, row, BODY)                                                                 \
  do {                                                                                         \
    const int bits_ = (j)->bits;                                                               \
    const size_t K_ = (j)->K, s_ = (row) * K_;                                                 \
    const float *t_ = lut_row((j), (row));                                                     \
    size_t k = 0;                                                                              \
    if ((s_ * bits_) % 8 == 0) {                                                               \
      const uint8_t *p_ = (j)->idx + s_ * bits_ / 8;                                           \
      const uint8_t *end_ = (j)->idx + (j)->idx_bytes;                                         \
      if (bits_ == 4) {                                                                        \
        __m256 t0_ = _mm256_loadu_ps(t_), t1_ = _mm256_loadu_ps(t_ + 8);                       \
        const __m256i m_ = _mm256_set1_epi32(15);                                              \
        for (; k + 16 <= K_ && p_ + 8 <= end_; k += 16, p_ += 8) {                             \
          __m256i v_ = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p_));             \
          __m256 wl_ = lookup16(t0_, t1_, _mm256_and_si256(v_, m_));                           \
          __m256 wh_ = lookup16(t0_, t1_, _mm256_srli_epi32(v_, 4));                           \
          __m256 a_ = _mm256_unpacklo_ps(wl_, wh_), b_ = _mm256_unpackhi_ps(wl_, wh_);         \
          __m256 w = _mm256_permute2f128_ps(a_, b_, 0x20);                                     \
          BODY;                                                                                \
          k += 8;                                                                              \
          w = _mm256_permute2f128_ps(a_, b_, 0x31);                                            \
          BODY;                                                                                \
          k -= 8;                                                                              \
        }                                                                                      \
      } else {                                                                                 \
        const __m256i sh_ = _mm256_loadu_si256((const __m256i *)UNPACK[bits_].shuf);         \
        const __m256i sr_ = _mm256_loadu_si256((const __m256i *)UNPACK[bits_].shift);        \
        const __m256i m_ = _mm256_set1_epi32((1 << bits_) - 1);                                \
        __m256 t0_ = _mm256_loadu_ps(t_);                                                      \
        for (; k + 8 <= K_ && p_ + 8 <= end_; k += 8, p_ += bits_) {                           \
          __m256i i_ = unpack8(p_, sh_, sr_, m_);                                                   \
          __m256 w = bits_ <= 3 ? _mm256_permutevar8x32_ps(t0_, i_)                            \
                                : _mm256_i32gather_ps(t_, i_, 4);                              \
          BODY;                                                                                \
        }                                                                                      \
      }                                                                                        \
    }                                                                                          \
    for (; k < K_; k++) {                                                                      \
      float ws = t_[index_at((j)->idx, bits_, s_ + k)];                                        \
      TAIL(ws);                                                                                \
    }                                                                                          \
  } while (0)

// A 2- or 3-bit table has 4 or 8 entries: copied into an 8-float one, one register holds it.
// Returns the job to read row `row` through (a copy whose every row reads `small`, or j itself).
static const gemm_job *padded_table(const gemm_job *j, size_t row, float small[8], gemm_job *jj) {
  if (j->bits > 3) return j;
  memset(small, 0, 8 * sizeof(float));
  memcpy(small, lut_row(j, row), sizeof(float) << j->bits);
  *jj = *j;
  jj->lut = small;
  jj->rpg = (size_t)-1;  // row / rpg = 0
  return jj;
}

AVX2 static void decode_row(const gemm_job *j, size_t row, float *dst) {
  float small[8];
  gemm_job jj;
  j = padded_table(j, row, small, &jj);
#define TAIL(ws) dst[k] = (ws)
  ROW_LOOP(j, row, _mm256_storeu_ps(dst + k, w));
#undef TAIL
}

// 4-bit rows with an fp16-exact table: its 16 entries as two fp16 byte planes, one vpshufb
// each per 32 lookups. Returns 0 when the table is not fp16-exact.
INLINE int make_planes16(const float *t, __m256i *lo, __m256i *hi) {
  const __m128i sep = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  __m256 f0 = _mm256_loadu_ps(t), f1 = _mm256_loadu_ps(t + 8);
  __m128i h0 = _mm256_cvtps_ph(f0, _MM_FROUND_TO_NEAREST_INT);
  __m128i h1 = _mm256_cvtps_ph(f1, _MM_FROUND_TO_NEAREST_INT);
  __m256 d0 = _mm256_cmp_ps(_mm256_cvtph_ps(h0), f0, _CMP_NEQ_UQ);
  __m256 d1 = _mm256_cmp_ps(_mm256_cvtph_ps(h1), f1, _CMP_NEQ_UQ);
  if (_mm256_movemask_ps(_mm256_or_ps(d0, d1))) return 0;
  __m128i a = _mm_shuffle_epi8(h0, sep), b = _mm_shuffle_epi8(h1, sep);
  *lo = _mm256_broadcastsi128_si256(_mm_unpacklo_epi64(a, b));
  *hi = _mm256_broadcastsi128_si256(_mm_unpackhi_epi64(a, b));
  return 1;
}

// 6-bit rows with fp16-exact tables: the 64 entries as fp16 split into byte planes, four
// 16-entry sub-tables per plane, so 32 lookups are eight vpshufb plus blends on bits 4 and 5
// (a gather of 8 floats costs more than that on current x86 cores).
typedef struct {
  __m256i lo[4], hi[4];
} planes64;

// Returns 0 when some entry is not exactly an fp16 value (the caller then gathers floats).
INLINE int make_planes64(const float *t, planes64 *pl) {
  for (int q = 0; q < 4; q++)
    if (!make_planes16(t + 16 * q, &pl->lo[q], &pl->hi[q])) return 0;
  return 1;
}

INLINE __m256i pick64(const __m256i *pl, __m256i idx, __m256i m4, __m256i m5) {
  __m256i a = _mm256_blendv_epi8(_mm256_shuffle_epi8(pl[0], idx), _mm256_shuffle_epi8(pl[1], idx), m4);
  __m256i b = _mm256_blendv_epi8(_mm256_shuffle_epi8(pl[2], idx), _mm256_shuffle_epi8(pl[3], idx), m4);
  return _mm256_blendv_epi8(a, b, m5);
}

// Σ += the 32 fp16 values whose low and high bytes are lo and hi (register lane 0: columns
// k..k+15, lane 1: k+16..k+31) times x[k..k+32), over four accumulators (the order dot6 sums in).
INLINE void fma_planes(__m256i lo, __m256i hi, const float *x, __m256 *a0, __m256 *a1, __m256 *a2,
                       __m256 *a3) {
  __m256i ha = _mm256_unpacklo_epi8(lo, hi), hb = _mm256_unpackhi_epi8(lo, hi);
  *a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(ha)), _mm256_loadu_ps(x), *a0);
  *a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(ha, 1)), _mm256_loadu_ps(x + 16), *a1);
  *a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(hb)), _mm256_loadu_ps(x + 8), *a2);
  *a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(hb, 1)), _mm256_loadu_ps(x + 24), *a3);
}

// Σ x[k]·W[k] over the first *done columns of a 6-bit row at p (32 columns per step).
INLINE float dot6(const planes64 *pl, const uint8_t *p, const uint8_t *end, size_t K,
                  const float *x, size_t *done) {
  // each 32-bit lane takes 3 bytes = 4 indices; lane 0 of the register reads p, lane 1 p + 12
  const __m256i sh = _mm256_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1, 0, 1,
                                      2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1);
  const __m256i m0 = _mm256_set1_epi32(0x3f), m1 = _mm256_set1_epi32(0x3f00);
  const __m256i m2 = _mm256_set1_epi32(0x3f0000), m3 = _mm256_set1_epi32(0x3f000000);
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t k = 0;
  for (; k + 32 <= K && p + 28 <= end; k += 32, p += 24) {
    __m256i raw = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
        _mm_loadu_si128((const __m128i *)(p + 12)), 1);
    __m256i v = _mm256_shuffle_epi8(raw, sh);
    __m256i idx = _mm256_or_si256(
        _mm256_or_si256(_mm256_and_si256(v, m0), _mm256_and_si256(_mm256_slli_epi32(v, 2), m1)),
        _mm256_or_si256(_mm256_and_si256(_mm256_slli_epi32(v, 4), m2),
                        _mm256_and_si256(_mm256_slli_epi32(v, 6), m3)));
    __m256i m4 = _mm256_slli_epi16(idx, 3), m5 = _mm256_slli_epi16(idx, 2);
    __m256i lo = pick64(pl->lo, idx, m4, m5), hi = pick64(pl->hi, idx, m4, m5);
    fma_planes(lo, hi, x + k, &a0, &a1, &a2, &a3);
  }
  *done = k;
  return hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

// dot6 on a row of encoded index bytes (gemm.h idx8): no unpacking, and each 32-entry half of
// the table is one pair of vpshufb whose results are ORed, since vpshufb zeroes lanes with bit 7
// set (bit 4 of the index there picks the sub-table); bit 5 (at bit 6) picks the half. The
// lookups give dot6's values in dot6's lane order, so the sums are its bits.
INLINE float dot6b(const planes64 *pl, const uint8_t *p, size_t K, const float *x, size_t *done) {
  const __m256i flip = _mm256_set1_epi8((char)0x80);
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t k = 0;
  for (; k + 32 <= K; k += 32) {
    __m256i b = _mm256_loadu_si256((const __m256i *)(p + k)), bx = _mm256_xor_si256(b, flip);
    __m256i m5 = _mm256_slli_epi16(b, 1);
#define HALF(t, q) _mm256_or_si256(_mm256_shuffle_epi8((t)[q], b), _mm256_shuffle_epi8((t)[q + 1], bx))
    __m256i lo = _mm256_blendv_epi8(HALF(pl->lo, 0), HALF(pl->lo, 2), m5);
    __m256i hi = _mm256_blendv_epi8(HALF(pl->hi, 0), HALF(pl->hi, 2), m5);
#undef HALF
    fma_planes(lo, hi, x + k, &a0, &a1, &a2, &a3);
  }
  *done = k;
  return hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

// Σ over the first *done bytes (2 columns each) of a 4-bit row: low nibbles pair with xe, high
// nibbles with xo. Register lane 0 holds the low nibbles of 16 bytes, lane 1 the high ones.
INLINE float dot4h(__m256i pl, __m256i ph, const uint8_t *p, size_t h, const float *xe,
                   const float *xo, size_t *done) {
  const __m128i m = _mm_set1_epi8(15);
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 16 <= h; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
    __m256i idx = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(v, m)),
                                          _mm_and_si128(_mm_srli_epi16(v, 4), m), 1);
    __m256i lo = _mm256_shuffle_epi8(pl, idx), hi = _mm256_shuffle_epi8(ph, idx);
    __m256i ha = _mm256_unpacklo_epi8(lo, hi), hb = _mm256_unpackhi_epi8(lo, hi);
    a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(ha)), _mm256_loadu_ps(xe + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(ha, 1)), _mm256_loadu_ps(xo + i), a1);
    a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(hb)), _mm256_loadu_ps(xe + i + 8), a2);
    a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(hb, 1)), _mm256_loadu_ps(xo + i + 8), a3);
  }
  *done = i;
  return hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

// 4-bit rows with an fp16-exact table, against x as prep_x4 makes it: an entry's fp32 bits
// scaled by 2^-112 have a zero low byte, so three vpshufb byte planes and unpacks rebuild 32
// entries as floats (no vcvtph2ps), and each product is (x·2^112)·(w·2^-112) = x·w exactly.
typedef struct {
  __m256i b1, b2, b3;
} planes4s;

// The planes of table t (lut_rows makes them once per group of rows); 0: t is not fp16-exact.
INLINE int make_planes4s(const float *t, planes4s *pl) {
  __m256i lo, hi;
  if (!make_planes16(t, &lo, &hi)) return 0;
  uint8_t b[3][16];
  for (int k = 0; k < 16; k++) {
    float f = t[k] * 0x1p-112f;
    uint32_t u;
    memcpy(&u, &f, 4);
    b[0][k] = (uint8_t)(u >> 8);
    b[1][k] = (uint8_t)(u >> 16);
    b[2][k] = (uint8_t)(u >> 24);
  }
  pl->b1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)b[0]));
  pl->b2 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)b[1]));
  pl->b3 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)b[2]));
  return 1;
}

// 64 columns (32 bytes) per step: one register of low nibbles (even columns), one of high ones
// (odd), no lane insert; eight accumulators.
INLINE float dot4p(const planes4s *pl, const uint8_t *p, size_t h, const float *xp) {
  const __m256i m = _mm256_set1_epi8(15);
  const __m256i z = _mm256_setzero_si256();
  __m256 a[8];
  for (int q = 0; q < 8; q++) a[q] = _mm256_setzero_ps();
  for (size_t i = 0; i < h; i += 32, xp += 64) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(p + i));
    __m256i nib[2] = {_mm256_and_si256(v, m), _mm256_and_si256(_mm256_srli_epi16(v, 4), m)};
    for (int s = 0; s < 2; s++) {
      __m256i c1 = _mm256_shuffle_epi8(pl->b1, nib[s]), c2 = _mm256_shuffle_epi8(pl->b2, nib[s]);
      __m256i c3 = _mm256_shuffle_epi8(pl->b3, nib[s]);
      __m256i l0 = _mm256_unpacklo_epi8(z, c1), l1 = _mm256_unpackhi_epi8(z, c1);
      __m256i h0 = _mm256_unpacklo_epi8(c2, c3), h1 = _mm256_unpackhi_epi8(c2, c3);
      const float *x = xp + 32 * s;
      __m256 *A = a + 4 * s;
#define W(u) _mm256_castsi256_ps(u)
      A[0] = _mm256_fmadd_ps(W(_mm256_unpacklo_epi16(l0, h0)), _mm256_loadu_ps(x), A[0]);
      A[1] = _mm256_fmadd_ps(W(_mm256_unpackhi_epi16(l0, h0)), _mm256_loadu_ps(x + 8), A[1]);
      A[2] = _mm256_fmadd_ps(W(_mm256_unpacklo_epi16(l1, h1)), _mm256_loadu_ps(x + 16), A[2]);
      A[3] = _mm256_fmadd_ps(W(_mm256_unpackhi_epi16(l1, h1)), _mm256_loadu_ps(x + 24), A[3]);
#undef W
    }
  }
  __m256 s0 = _mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3]));
  __m256 s1 = _mm256_add_ps(_mm256_add_ps(a[4], a[5]), _mm256_add_ps(a[6], a[7]));
  return hsum(_mm256_add_ps(s0, s1));
}

// A 6-bit row from its index bytes (j->idx8; row·K·6 a multiple of 8) with its table's planes.
INLINE float dot6_row(const gemm_job *j, size_t row, const planes64 *pl, const float *x) {
  const float *t = lut_row(j, row);
  // the vector span dot6 would take on the packed row (it stops 28 bytes before the array's
  // end), so that both forms sum in the same order and give the same bits
  size_t base = row * j->K * 6 / 8, n = 0, k;
  if (j->idx_bytes >= base + 28) n = (j->idx_bytes - base - 28) / 24 + 1;
  if (n > j->K / 32) n = j->K / 32;
  float s = dot6b(pl, j->idx8 + row * j->K, n * 32, x, &k);
  for (; k < j->K; k++) s += x[k] * t[index_at(j->idx, 6, row * j->K + k)];
  return s;
}

AVX2 static float lut_dot(const gemm_job *j, size_t row, const lut_x *lx) {
  const float *x = lx->x, *xe = lx->xe, *xo = lx->xo;
  __m256i pl4, ph4;
  if (j->bits == 4 && xe && make_planes16(lut_row(j, row), &pl4, &ph4)) {
    const float *t = lut_row(j, row);
    const uint8_t *p = j->idx + row * (j->K / 2);
    size_t i, h = j->K / 2;
    float s = dot4h(pl4, ph4, p, h, xe, xo, &i);
    for (; i < h; i++) s += xe[i] * t[p[i] & 15] + xo[i] * t[p[i] >> 4];
    return s;
  }
  if (j->bits == 4 && xe) {
    // x split into even/odd halves: low nibbles pair with xe, high nibbles with xo
    const float *t = lut_row(j, row);
    const __m256 t0 = _mm256_loadu_ps(t), t1 = _mm256_loadu_ps(t + 8);
    const __m256i m = _mm256_set1_epi32(15);
    const size_t h = j->K / 2;
    const uint8_t *p = j->idx + row * h;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= h; i += 16) {
      __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + i)));
      __m256i u = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + i + 8)));
      a0 = _mm256_fmadd_ps(lookup16(t0, t1, _mm256_and_si256(v, m)), _mm256_loadu_ps(xe + i), a0);
      a1 = _mm256_fmadd_ps(lookup16(t0, t1, _mm256_srli_epi32(v, 4)), _mm256_loadu_ps(xo + i), a1);
      a2 = _mm256_fmadd_ps(lookup16(t0, t1, _mm256_and_si256(u, m)), _mm256_loadu_ps(xe + i + 8),
                           a2);
      a3 = _mm256_fmadd_ps(lookup16(t0, t1, _mm256_srli_epi32(u, 4)), _mm256_loadu_ps(xo + i + 8),
                           a3);
    }
    float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < h; i++) s += xe[i] * t[p[i] & 15] + xo[i] * t[p[i] >> 4];
    return s;
  }
  planes64 pl;
  if (j->bits == 6 && j->idx8 && (row * j->K * 6) % 8 == 0 && make_planes64(lut_row(j, row), &pl))
    return dot6_row(j, row, &pl, x);
  if (j->bits == 6 && (row * j->K * 6) % 8 == 0 && make_planes64(lut_row(j, row), &pl)) {
    const float *t = lut_row(j, row);
    size_t k;
    float s = dot6(&pl, j->idx + row * j->K * 6 / 8, j->idx + j->idx_bytes, j->K, x, &k);
    for (; k < j->K; k++) s += x[k] * t[index_at(j->idx, 6, row * j->K + k)];
    return s;
  }
  float small[8];
  gemm_job jj;
  j = padded_table(j, row, small, &jj);
  __m256 acc = _mm256_setzero_ps();
  float tail = 0;
#define TAIL(ws) tail += x[k] * (ws)
  ROW_LOOP(j, row, acc = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + k), acc));
#undef TAIL
  return hsum(acc) + tail;
}

// lut_dot over a run of rows for 4-bit B (with x->xp) and 6-bit B (with idx8), the per-row work
// hoisted: a table's planes are made once for its group of rows, no call per row.
AVX2 static void lut_rows(const gemm_job *j, size_t n0, size_t n1, const lut_x *lx) {
  const int six = j->bits == 6;
  const size_t row_bytes = six ? j->K : j->K / 2;
  const uint8_t *rows = six ? j->idx8 : j->idx;
  const float *last = NULL;
  planes4s p4;
  planes64 p6;
  int exact = 0;
  for (size_t n = n0; n < n1; n++) {
    const size_t row = j->row0 + n;
    if (n + PF_ROWS < n1) {
      const char *q = (const char *)rows + (row + PF_ROWS) * row_bytes;
      for (size_t o = 0; o < row_bytes; o += 64) _mm_prefetch(q + o, _MM_HINT_NTA);
    }
    const float *t = lut_row(j, row);
    if (t != last) {
      exact = six ? make_planes64(t, &p6) : make_planes4s(t, &p4);
      last = t;
    }
    float v = !exact                          ? lut_dot(j, row, lx)
              : !six                          ? dot4p(&p4, j->idx + row * row_bytes, row_bytes, lx->xp)
              : (row * j->K * 6) % 8 == 0 ? dot6_row(j, row, &p6, lx->x)
                                              : lut_dot(j, row, lx);
    j->out[n * j->cs] = v + (j->bias ? j->bias[n] : 0.0f);
  }
}

AVX2 static float dot(const float *a, const float *b, size_t K) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t k = 0;
  for (; k + 32 <= K; k += 32) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(b + k + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 16), _mm256_loadu_ps(b + k + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 24), _mm256_loadu_ps(b + k + 24), a3);
  }
  for (; k + 8 <= K; k += 8)
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), a0);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; k < K; k++) s += a[k] * b[k];
  return s;
}

AVX2 static float dot_h(const float *a, const uint16_t *h, size_t K) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t k = 0;
#define H8(o) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + k + (o))))
  for (; k + 32 <= K; k += 32) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), H8(0), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), H8(8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 16), H8(16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 24), H8(24), a3);
  }
  for (; k + 8 <= K; k += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), H8(0), a0);
#undef H8
  float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; k < K; k++) s += a[k] * _cvtsh_ss(h[k]);
  return s;
}

AVX2 static void kn_row(const float *a, const float *b, size_t ldb, size_t K, size_t N,
                        float *dst) {
  size_t n = 0;
  for (; n + 32 <= N; n += 32) {
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    for (size_t k = 0; k < K; k++) {
      const float *r = b + k * ldb + n;
      __m256 av = _mm256_broadcast_ss(a + k);
      c0 = _mm256_fmadd_ps(av, _mm256_loadu_ps(r), c0);
      c1 = _mm256_fmadd_ps(av, _mm256_loadu_ps(r + 8), c1);
      c2 = _mm256_fmadd_ps(av, _mm256_loadu_ps(r + 16), c2);
      c3 = _mm256_fmadd_ps(av, _mm256_loadu_ps(r + 24), c3);
    }
    _mm256_storeu_ps(dst + n, c0);
    _mm256_storeu_ps(dst + n + 8, c1);
    _mm256_storeu_ps(dst + n + 16, c2);
    _mm256_storeu_ps(dst + n + 24, c3);
  }
  for (; n + 8 <= N; n += 8) {
    __m256 c0 = _mm256_setzero_ps();
    for (size_t k = 0; k < K; k++)
      c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + k), _mm256_loadu_ps(b + k * ldb + n), c0);
    _mm256_storeu_ps(dst + n, c0);
  }
  for (; n < N; n++) {
    float s = 0;
    for (size_t k = 0; k < K; k++) s += a[k] * b[k * ldb + n];
    dst[n] = s;
  }
}

// 8×8 transpose of the registers r[0..7] (rows) into columns.
INLINE void transpose8(__m256 r[8]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// exp_det four lanes at a time: the same operations, each an IEEE double op (no FMA: this file
// builds with -ffp-contract=off). Lanes whose 2^n is not a normal double (x < −708.39 or
// x > 709.08), and NaN, take the scalar exp_det.
AVX2 static void exp_n(const double *x, double *y, size_t n) {
  const __m256d lo = _mm256_set1_pd(-708.39), hi = _mm256_set1_pd(709.08);
  const __m256d R = _mm256_set1_pd(EXP_RINT), L2E = _mm256_set1_pd(EXP_LOG2E);
  const __m256d H = _mm256_set1_pd(EXP_LN2_HI), L = _mm256_set1_pd(EXP_LN2_LO);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256d v = _mm256_loadu_pd(x + i);
    __m256d ok = _mm256_and_pd(_mm256_cmp_pd(v, lo, _CMP_GE_OQ), _mm256_cmp_pd(v, hi, _CMP_LE_OQ));
    if (_mm256_movemask_pd(ok) != 15) {
      for (int q = 0; q < 4; q++) y[i + q] = exp_det(x[i + q]);
      continue;
    }
    __m256d t = _mm256_add_pd(_mm256_mul_pd(v, L2E), R);
    __m256d nd = _mm256_sub_pd(t, R);
    __m256d r = _mm256_sub_pd(_mm256_sub_pd(v, _mm256_mul_pd(nd, H)), _mm256_mul_pd(nd, L));
    __m256d p = _mm256_set1_pd(EXP_C[13]);
    for (int k = 12; k >= 0; k--) p = _mm256_add_pd(_mm256_mul_pd(p, r), _mm256_set1_pd(EXP_C[k]));
    // n from t's low mantissa bits (t = n + 1.5·2^52), then 2^n from its exponent field
    __m256i ni = _mm256_sub_epi64(_mm256_castpd_si256(t), _mm256_castpd_si256(R));
    __m256i e = _mm256_slli_epi64(_mm256_add_epi64(ni, _mm256_set1_epi64x(1023)), 52);
    _mm256_storeu_pd(y + i, _mm256_mul_pd(p, _mm256_castsi256_pd(e)));
  }
  for (; i < n; i++) y[i] = exp_det(x[i]);
}

// dst[j·rows + i] = src[i·cols + j] in 8×8 register blocks, scalar at the ragged edges.
AVX2 static void transpose(const float *src, size_t rows, size_t cols, float *dst) {
  size_t i = 0;
  for (; i + 8 <= rows; i += 8) {
    size_t j = 0;
    for (; j + 8 <= cols; j += 8) {
      __m256 r[8];
      for (int q = 0; q < 8; q++) r[q] = _mm256_loadu_ps(src + (i + q) * cols + j);
      transpose8(r);
      for (int q = 0; q < 8; q++) _mm256_storeu_ps(dst + (j + q) * rows + i, r[q]);
    }
    for (; j < cols; j++)
      for (int q = 0; q < 8; q++) dst[j * rows + i + q] = src[(i + q) * cols + j];
  }
  for (; i < rows; i++)
    for (size_t j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j];
}

// P[k·NR + q] = rows[q][k] (NR = 16): 8 columns of 8 rows at a time through register transposes.
AVX2 static void pack(const float *const *rows, size_t K, float *P) {
  size_t k = 0;
  for (; k + 8 <= K; k += 8)
    for (int h = 0; h < 2; h++) {
      __m256 r[8];
      for (int q = 0; q < 8; q++) r[q] = _mm256_loadu_ps(rows[8 * h + q] + k);
      transpose8(r);
      for (int i = 0; i < 8; i++) _mm256_storeu_ps(P + (k + i) * 16 + 8 * h, r[i]);
    }
  for (; k < K; k++)
    for (int q = 0; q < 16; q++) P[k * 16 + q] = rows[q][k];
}

AVX2 static void halfs(const uint16_t *h, float *dst, size_t K) {
  size_t k = 0;
  for (; k + 8 <= K; k += 8)
    _mm256_storeu_ps(dst + k, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + k))));
  for (; k < K; k++) dst[k] = _cvtsh_ss(h[k]);
}

AVX2 static void round_half_avx2(float *f, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(f + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_ps(f + i, _mm256_cvtph_ps(h));
  }
  if (i < n) ISA_GENERIC.round_half(f + i, n - i);
}

const isa_kernels ISA_AVX2 = {.name = "avx2",
                               .micro = micro,
                               .decode_row = decode_row,
                               .lut_dot = lut_dot,
                               .lut_rows = lut_rows,
                               .dot = dot,
                               .dot_h = dot_h,
                               .kn_row = kn_row,
                               .halfs = halfs,
                               .exp_n = exp_n,
                               .transpose = transpose,
                               .pack = pack,
                               .round_half = round_half_avx2};
#endif
