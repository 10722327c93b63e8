// The palettization kernel in C: a line-for-line port of src/quant/kernel.ts and kmeans1d.ts.
// It must produce the very same bytes as the TypeScript kernel, so every double is computed with
// the same operations in the same order (build with -ffp-contract=off, never -ffast-math).
#include "kernel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint32_t count[65536];
  double weight[65536]; // summed importance per bit pattern (weighted jobs only)
  uint32_t seen[2048];
  uint16_t halves[65536];
  uint8_t index_of_half[65536];
  double v[65536];
  double s0[65537], s1[65537], s2[65537];
  double centroids[256], lut_values[256];
  int32_t next_distinct[256];
  int32_t bnd[257];
  int u;
  // k-means scratch, grown on demand.
  size_t values_cap, dp_cap;
  int32_t *cuts, *arg;
  double *p0, *p1, *p2, *prev, *cur;
  uint16_t *group_halves; // a float32 group rounded to fp16 once, for both passes over it
} scratch_t;

// One scratch per thread (worker threads each call the kernel); never freed, reused.
static _Thread_local scratch_t *tls;

static scratch_t *get_scratch(void) {
  if (!tls) tls = calloc(1, sizeof(scratch_t));
  return tls;
}

static int ensure_values(scratch_t *s, size_t u) {
  if (s->values_cap >= u + 1) return 1;
  size_t n = u + 1;
  int32_t *cuts = realloc(s->cuts, n * sizeof(int32_t));
  if (cuts) s->cuts = cuts;
  double **arrays[] = {&s->p0, &s->p1, &s->p2, &s->prev, &s->cur};
  int ok = cuts != NULL;
  for (int i = 0; i < 5 && ok; i++) {
    double *p = realloc(*arrays[i], n * sizeof(double));
    if (p) *arrays[i] = p;
    else ok = 0;
  }
  if (ok) s->values_cap = n;
  return ok;
}

static int ensure_dp(scratch_t *s, size_t nb, size_t k) {
  size_t n = (k + 1) * (nb + 1);
  if (s->dp_cap >= n) return 1;
  int32_t *arg = realloc(s->arg, n * sizeof(int32_t));
  if (!arg) return 0;
  s->arg = arg;
  s->dp_cap = n;
  return 1;
}

// fp16 bits -> value, built directly as double bits (exact; no libm on the hot path).
static double half_to_double(uint32_t h) {
  uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
  double d;
  if (e == 0) {
    d = (double)m * 0x1p-24;
    return (h & 0x8000) ? -d : d;
  }
  uint64_t bits = (uint64_t)(h & 0x8000) << 48;
  if (e == 31) bits |= 0x7ff0000000000000ull | ((uint64_t)m << 42);
  else bits |= ((uint64_t)(e - 15 + 1023) << 52) | ((uint64_t)m << 42);
  memcpy(&d, &bits, 8);
  return d;
}

// float32 -> fp16 bits, round to nearest even: src/util/fp16.ts floatsToHalfs, step for step.
static uint16_t float_to_half(uint32_t x) {
  uint32_t sign = (x >> 16) & 0x8000, a = x & 0x7fffffff, h;
  if (a >= 0x47800000) {
    h = a > 0x7f800000 ? 0x7e00 : 0x7c00;
  } else if (a < 0x38800000) {
    float f;
    memcpy(&f, &a, 4);
    f = (float)((double)f + 0.5); // the TypeScript code adds in double, then stores a float32
    uint32_t r;
    memcpy(&r, &f, 4);
    h = r - 0x3f000000u;
  } else {
    h = (a - 0x38000000 + 0xfff + ((a >> 13) & 1)) >> 13;
  }
  return (uint16_t)(h | sign);
}

// util/fp16.ts floatToHalf: round to float32 first, then to fp16 (nearest even).
static uint32_t double_to_half(double d) {
  float f = (float)d;
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = (x >> 23) & 0xff;
  uint32_t mant = x & 0x7fffff;
  if (exp == 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  int32_t e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    int32_t shift = 14 - e;
    uint32_t half = 1u << (shift - 1);
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t r = mant >> shift;
    if (rem > half || (rem == half && (r & 1))) r++;
    return sign | r;
  }
  uint32_t r = ((uint32_t)e << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++;
  return sign | r;
}

// The weight: fp16 bit patterns, or float32 rounded to fp16 block by block as it is read.
typedef struct {
  const uint16_t *f16;
  const uint32_t *f32;
} source_t;

enum { BLOCK = 4096, GROUP_HALVES = 1 << 20 };

// fp16 bits of src[i, i + n) (n <= BLOCK): a view, or converted into `buf`.
static const uint16_t *halves_at(const source_t *src, size_t i, size_t n, uint16_t *buf) {
  if (src->f16) return src->f16 + i;
  for (size_t k = 0; k < n; k++) buf[k] = float_to_half(src->f32[i + k]);
  return buf;
}

static void emit(scratch_t *s, int u, uint32_t h, double c) {
  double x = half_to_double(h);
  s->halves[u] = (uint16_t)h;
  s->v[u] = x;
  s->s0[u + 1] = s->s0[u] + c;
  s->s1[u + 1] = s->s1[u] + c * x;
  s->s2[u + 1] = s->s2[u] + c * x * x;
}

// The weight of bit pattern h (its summed importance, or its count), cleared for the next group.
static double take(scratch_t *s, uint32_t h, int weighted) {
  double c = weighted ? s->weight[h] : (double)s->count[h];
  if (weighted) s->weight[h] = 0;
  else s->count[h] = 0;
  return c;
}

// With `imp`, element start + i weighs imp[i mod period] instead of 1 (as kernel.ts collect).
static void collect(const source_t *src, size_t start, size_t end, scratch_t *s, const double *imp,
                    size_t period) {
  uint32_t *count = s->count, *seen = s->seen;
  double *weight = s->weight;
  uint16_t buf[BLOCK];
  size_t c = 0;
  for (size_t b = start; b < end; b += BLOCK) {
    size_t n = end - b < BLOCK ? end - b : BLOCK;
    const uint16_t *hs = halves_at(src, b, n, buf);
    if (imp) {
      for (size_t i = 0; i < n; i++) {
        uint32_t h = hs[i];
        weight[h] += imp[c];
        seen[h >> 5] |= 1u << (h & 31);
        if (++c == period) c = 0;
      }
    } else {
      for (size_t i = 0; i < n; i++) {
        uint32_t h = hs[i];
        count[h]++;
        seen[h >> 5] |= 1u << (h & 31);
      }
    }
  }
  if (imp) {
    weight[0] += weight[0x8000];
    if (weight[0x8000] != 0) seen[0] |= 1;
    weight[0x8000] = 0;
  } else {
    count[0] += count[0x8000];
    if (count[0x8000] != 0) seen[0] |= 1;
    count[0x8000] = 0;
  }
  seen[1024] &= ~1u;
  int u = 0;
  for (int w = 2047; w >= 1024; w--) {
    uint32_t word = seen[w];
    if (word == 0) continue;
    seen[w] = 0;
    while (word != 0) {
      int b = 31 - __builtin_clz(word);
      uint32_t h = ((uint32_t)w << 5) | (uint32_t)b;
      emit(s, u++, h, take(s, h, imp != NULL));
      word ^= 1u << b;
    }
  }
  for (int w = 0; w < 1024; w++) {
    uint32_t word = seen[w];
    if (word == 0) continue;
    seen[w] = 0;
    while (word != 0) {
      uint32_t h = ((uint32_t)w << 5) | (uint32_t)__builtin_ctz(word);
      emit(s, u++, h, take(s, h, imp != NULL));
      word &= word - 1;
    }
  }
  s->u = u;
}

static double run_cost(const scratch_t *s, int a, int b) {
  double n = s->s0[b] - s->s0[a];
  double sum = s->s1[b] - s->s1[a];
  return s->s2[b] - s->s2[a] - (sum * sum) / n;
}

static int bins_per_cluster(int k) { return k <= 8 ? 8 : k <= 16 ? 6 : k <= 64 ? 4 : 2; }

// Bins of SSE <= tau, tested as n·Σv² − (Σv)² > tau·n (no division), as kmeans1d.ts does.
static int cut_bins(const scratch_t *s, double tau, int32_t *cuts) {
  const double *s0 = s->s0, *s1 = s->s1, *s2 = s->s2;
  int a = 0, n = 0;
  cuts[0] = 0;
  for (int i = 1; i < s->u; i++) {
    double w = s0[i + 1] - s0[a];
    double sum = s1[i + 1] - s1[a];
    if (w * (s2[i + 1] - s2[a]) - sum * sum > tau * w) {
      cuts[++n] = i;
      a = i;
    }
  }
  cuts[++n] = s->u;
  return n;
}

static int choose_bins(const scratch_t *s, int target, int32_t *cuts) {
  double total = run_cost(s, 0, s->u);
  double t = (double)target;
  double tau = (2 * total) / (t * t * t);
  int n = cut_bins(s, tau, cuts);
  if ((double)n > 2 * t) {
    double ratio = (double)n / t;
    tau *= ratio * ratio * ratio;
    n = cut_bins(s, tau, cuts);
  }
  while ((double)n < t / 2 && tau > 0) {
    tau = tau > total * 1e-30 ? tau / 8 : 0;
    n = cut_bins(s, tau, cuts);
  }
  return n;
}

typedef struct {
  const double *p0, *p1, *p2, *prev;
  double *cur;
  int32_t *arg;
  size_t row;
} dp_t;

// cur[i] = min over m < i of prev[m] + cost(m, i), for i in [lo, hi]; leftmost argmin.
static void solve(dp_t *d, int lo, int hi, int opt_lo, int opt_hi) {
  while (lo <= hi) {
    int mid = (lo + hi) >> 1;
    double q0 = d->p0[mid], q1 = d->p1[mid], q2 = d->p2[mid];
    double best = INFINITY;
    int best_m = opt_lo;
    int top = mid - 1 < opt_hi ? mid - 1 : opt_hi;
    for (int m = opt_lo; m <= top; m++) {
      double sum = q1 - d->p1[m];
      double c = d->prev[m] + (q2 - d->p2[m] - (sum * sum) / (q0 - d->p0[m]));
      if (c < best) {
        best = c;
        best_m = m;
      }
    }
    d->cur[mid] = best;
    d->arg[d->row + (size_t)mid] = best_m;
    solve(d, lo, mid - 1, opt_lo, best_m);
    lo = mid + 1;
    opt_lo = best_m;
  }
}

static void segment_dp(scratch_t *s, const int32_t *cuts, int nb, int k, int32_t *out) {
  double *p0 = s->p0, *p1 = s->p1, *p2 = s->p2;
  for (int i = 0; i <= nb; i++) {
    p0[i] = s->s0[cuts[i]];
    p1[i] = s->s1[cuts[i]];
    p2[i] = s->s2[cuts[i]];
  }
  double *prev = s->prev, *cur = s->cur;
  size_t stride = (size_t)nb + 1;
  for (int i = 1; i <= nb - k + 1; i++) {
    double sum = p1[i] - p1[0];
    prev[i] = p2[i] - p2[0] - (sum * sum) / (p0[i] - p0[0]);
  }
  dp_t d = {p0, p1, p2, prev, cur, s->arg, 0};
  for (int j = 2; j < k; j++) {
    d.row = (size_t)j * stride;
    d.prev = prev;
    d.cur = cur;
    solve(&d, j, nb - k + j, j - 1, nb - k + j - 1);
    double *t = prev;
    prev = cur;
    cur = t;
  }
  d.row = (size_t)k * stride;
  d.prev = prev;
  d.cur = cur;
  solve(&d, nb, nb, k - 1, nb - 1);
  out[k] = s->u;
  int i = nb;
  for (int j = k; j >= 2; j--) {
    i = s->arg[(size_t)j * stride + (size_t)i];
    out[j - 1] = cuts[i];
  }
  out[0] = 0;
}

static void lloyd(const scratch_t *s, double *c, int k, int32_t *bnd, int max_iter) {
  const double *v = s->v, *s0 = s->s0, *s1 = s->s1;
  int u = s->u;
  for (int it = 0; it < max_iter; it++) {
    for (int j = 0; j + 1 < k; j++) {
      double mid = (c[j] + c[j + 1]) / 2;
      int b = bnd[j + 1] > bnd[j] ? bnd[j + 1] : bnd[j];
      while (b > bnd[j] && v[b - 1] > mid) b--;
      while (b < u && v[b] <= mid) b++;
      bnd[j + 1] = b;
    }
    int moved = 0;
    for (int j = 0; j < k; j++) {
      int a = bnd[j], b = bnd[j + 1];
      if (b <= a) continue;
      double m = (s1[b] - s1[a]) / (s0[b] - s0[a]);
      if (m != c[j]) {
        c[j] = m;
        moved = 1;
      }
    }
    if (!moved) return;
  }
}

static int kmeans1d(scratch_t *s, int k, double *c) {
  int target = bins_per_cluster(k) * k;
  int exact = s->u <= 2 * target;
  if (!ensure_values(s, (size_t)s->u)) return 0;
  int nb;
  if (exact) {
    nb = s->u;
    for (int i = 0; i <= nb; i++) s->cuts[i] = i;
  } else {
    nb = choose_bins(s, target, s->cuts);
  }
  if (!ensure_dp(s, (size_t)nb, (size_t)k)) return 0;
  int32_t *bounds = s->bnd;
  segment_dp(s, s->cuts, nb, k, bounds);
  for (int j = 0; j < k; j++) {
    int a = bounds[j], b = bounds[j + 1];
    c[j] = (s->s1[b] - s->s1[a]) / (s->s0[b] - s->s0[a]);
  }
  if (!exact) lloyd(s, c, k, bounds, 100);
  return 1;
}

static int fit_lut(scratch_t *s, int entries) {
  if (s->u <= entries) {
    for (int j = 0; j < entries; j++) s->lut_values[j] = s->v[j < s->u - 1 ? j : s->u - 1];
    return 1;
  }
  if (!kmeans1d(s, entries, s->centroids)) return 0;
  // `+ 0.0` turns a centroid that rounds to -0 into +0, as the TypeScript kernel does.
  for (int j = 0; j < entries; j++)
    s->lut_values[j] = half_to_double(double_to_half(s->centroids[j])) + 0.0;
  return 1;
}

static double assign(scratch_t *s, int entries) {
  const double *r = s->lut_values;
  int32_t *next_distinct = s->next_distinct;
  int next = entries;
  for (int j = entries - 1; j >= 0; j--) {
    next_distinct[j] = next;
    if (j == 0 || r[j - 1] != r[j]) next = j;
  }
  int j = 0;
  double noise = 0;
  for (int i = 0; i < s->u; i++) {
    double x = s->v[i];
    for (int n = next_distinct[j]; n < entries && fabs(x - r[n]) < fabs(x - r[j]);) {
      j = n;
      n = next_distinct[j];
    }
    s->index_of_half[s->halves[i]] = (uint8_t)j;
    double d = x - r[j];
    noise += (s->s0[i + 1] - s->s0[i]) * d * d;
  }
  s->index_of_half[0x8000] = s->index_of_half[0];
  return noise;
}

typedef struct {
  uint8_t *out;
  size_t o;
  uint32_t acc, nacc, bits;
} packer_t;

// Packs the indices of n <= BLOCK weights (n even unless it is the group's last block).
static void pack_block(packer_t *p, const uint16_t *src, size_t n, const uint8_t *table) {
  uint8_t *out = p->out;
  size_t o = p->o, i = 0;
  uint32_t acc = p->acc, nacc = p->nacc, bits = p->bits;
  if (nacc == 0 && bits == 4) {
    for (; i + 1 < n; i += 2) out[o++] = (uint8_t)(table[src[i]] | (table[src[i + 1]] << 4));
  } else if (nacc == 0 && bits == 8) {
    for (; i < n; i++) out[o++] = table[src[i]];
  }
  for (; i < n; i++) {
    acc |= (uint32_t)table[src[i]] << nacc;
    nacc += bits;
    if (nacc >= 8) {
      out[o++] = (uint8_t)(acc & 0xff);
      acc >>= 8;
      nacc -= 8;
    }
  }
  p->o = o;
  p->acc = acc;
  p->nacc = nacc;
}

static void pack_run(packer_t *p, const source_t *src, size_t start, size_t end,
                     const uint8_t *table) {
  uint16_t buf[BLOCK];
  for (size_t b = start; b < end; b += BLOCK) {
    size_t n = end - b < BLOCK ? end - b : BLOCK;
    pack_block(p, halves_at(src, b, n, buf), n, table);
  }
}

static int is_finite_half(uint32_t h) { return (h & 0x7c00) != 0x7c00; }

int palettize_groups(const uint16_t *src16, const uint32_t *src32, int bits, size_t group_elems,
                     size_t g0, size_t g1, uint8_t *out, uint16_t *lut, double *err,
                     const double *importance, size_t period) {
  source_t src_ = {src16, src32};
  const source_t *src = &src_;
  scratch_t *s = get_scratch();
  if (!s) return 0;
  int entries = 1 << bits;
  packer_t packer = {out, (g0 * group_elems * (size_t)bits) / 8, 0, 0, (uint32_t)bits};
  for (size_t g = g0; g < g1; g++) {
    size_t start = g * group_elems, end = start + group_elems;
    // A float32 group that fits is rounded once; larger ones (per-tensor) block by block, twice.
    source_t view = *src;
    if (src->f32 && group_elems <= GROUP_HALVES) {
      if (!s->group_halves && !(s->group_halves = malloc(GROUP_HALVES * sizeof(uint16_t))))
        return 0;
      for (size_t i = 0; i < group_elems; i++)
        s->group_halves[i] = float_to_half(src->f32[start + i]);
      view = (source_t){s->group_halves, NULL};
      start = 0;
      end = group_elems;
    }
    collect(&view, start, end, s, importance, period);
    double signal = s->s2[s->u];
    int finite = is_finite_half(s->halves[0]) && is_finite_half(s->halves[s->u - 1]);
    if (!finite) {
      signal = NAN;
      memset(s->index_of_half, 0, sizeof s->index_of_half);
      memset(s->lut_values, 0, sizeof s->lut_values);
    } else if (!fit_lut(s, entries)) {
      return 0;
    }
    err[2 * g] = signal;
    err[2 * g + 1] = finite ? assign(s, entries) : 0;
    for (int j = 0; j < entries; j++)
      lut[g * (size_t)entries + (size_t)j] = (uint16_t)double_to_half(s->lut_values[j]);
    pack_run(&packer, &view, start, end, s->index_of_half);
  }
  if (packer.nacc > 0) out[packer.o] = (uint8_t)(packer.acc & 0xff);
  return 1;
}
