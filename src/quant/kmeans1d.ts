// 1-D weighted k-means on sorted unique values, all through prefix sums (count, Σv, Σv²), so the
// cost of any contiguous run of values is O(1). In 1-D the optimal clusters are contiguous runs,
// found exactly by dynamic programming over cut positions; to stay fast on groups with thousands of
// distinct values the DP runs over bins (adjacent values merged while their SSE stays small), and
// Lloyd's algorithm then polishes the cuts at full resolution. coremltools uses exact 1-D k-means
// (kmeans1d) for groups of ≥ 10 000 fp16 weights; this lands within ~0.01 dB of it.

/** Sorted distinct values `v[0..u)` with prefix sums: s0 = weight, s1 = Σw·v, s2 = Σw·v². */
export interface Prefix {
  readonly u: number
  readonly v: Float64Array
  readonly s0: Float64Array
  readonly s1: Float64Array
  readonly s2: Float64Array
}

/** SSE of values [a, b) around their mean. */
export function runCost(p: Prefix, a: number, b: number): number {
  const n = p.s0[b] - p.s0[a]
  const s = p.s1[b] - p.s1[a]
  return p.s2[b] - p.s2[a] - (s * s) / n
}

/** Scratch arrays reused across groups (one set per thread). */
export class KMeansScratch {
  cuts = new Int32Array(0)
  /** Prefix sums at the cut positions, so the DP's inner loop reads contiguous memory. */
  p0 = new Float64Array(0)
  p1 = new Float64Array(0)
  p2 = new Float64Array(0)
  prev = new Float64Array(0)
  cur = new Float64Array(0)
  arg = new Int32Array(0)
  bnd = new Int32Array(0)

  /** Room for `u` values and k clusters. */
  ensureValues(u: number, k: number): void {
    if (this.cuts.length < u + 1) {
      this.cuts = new Int32Array(u + 1)
      for (const key of ['p0', 'p1', 'p2', 'prev', 'cur'] as const)
        this[key] = new Float64Array(u + 1)
    }
    if (this.bnd.length < k + 1) this.bnd = new Int32Array(k + 1)
  }

  /** Room for the DP's back-pointers over `nb` bins. */
  ensureDP(nb: number, k: number): void {
    if (this.arg.length < (k + 1) * (nb + 1)) this.arg = new Int32Array((k + 1) * (nb + 1))
  }
}

/**
 * Bins per cluster the DP sees, by cluster count: more is closer to optimal and slower (the DP
 * costs k·B·log B). On 16K-weight groups of Gaussian to Student-t weights these land within
 * 0.01 dB of optimal; one step fewer (5 for 16, 3 for 64) loses up to 0.001 / 0.014 dB more.
 */
export function binsPerCluster(k: number): number {
  return k <= 8 ? 8 : k <= 16 ? 6 : k <= 64 ? 4 : 2
}

/**
 * Merges adjacent values into bins whose SSE is ≤ tau; writes bin edges to `cuts`, returns the
 * count. The test is SSE·n > tau·n (n·Σv² − (Σv)² > tau·n): no division per value.
 */
function cutBins(p: Prefix, tau: number, cuts: Int32Array): number {
  const { s0, s1, s2 } = p
  let a = 0
  let n = 0
  cuts[0] = 0
  for (let i = 1; i < p.u; i++) {
    const w = s0[i + 1] - s0[a]
    const sum = s1[i + 1] - s1[a]
    if (w * (s2[i + 1] - s2[a]) - sum * sum > tau * w) {
      cuts[++n] = i
      a = i
    }
  }
  cuts[++n] = p.u
  return n
}

/**
 * Bin edges for about `target` bins. Equal-SSE bins are narrow where values are dense and single
 * values in the tails; their count scales as tau^(-1/3). Starting from 2·total/target³ the first
 * pass lands within 0.95–1.5× target on Gaussian to Student-t weights; a second pass corrects
 * the rest.
 */
function chooseBins(p: Prefix, target: number, cuts: Int32Array): number {
  const total = runCost(p, 0, p.u)
  // Plain products, not `**`: the native kernel must compute the very same doubles.
  let tau = (2 * total) / (target * target * target)
  let n = cutBins(p, tau, cuts)
  if (n > 2 * target) {
    const ratio = n / target
    tau *= ratio * ratio * ratio
    n = cutBins(p, tau, cuts)
  }
  while (n < target / 2 && tau > 0) {
    tau = tau > total * 1e-30 ? tau / 8 : 0
    n = cutBins(p, tau, cuts)
  }
  return n
}

/**
 * Optimal k-segmentation of the positions `cuts[0..nb]` (divide-and-conquer DP: the best previous
 * cut is monotone in the current one). Writes the k+1 chosen value indices to `out`.
 * Ties keep the leftmost cut, as the plain O(k·n²) DP of the reference does.
 */
export function segmentDP(
  p: Prefix,
  cuts: Int32Array,
  nb: number,
  k: number,
  s: KMeansScratch,
  out: Int32Array,
): void {
  const { p0, p1, p2, arg } = s
  for (let i = 0; i <= nb; i++) {
    p0[i] = p.s0[cuts[i]]
    p1[i] = p.s1[cuts[i]]
    p2[i] = p.s2[cuts[i]]
  }
  let prev = s.prev
  let cur = s.cur
  const stride = nb + 1
  for (let i = 1; i <= nb - k + 1; i++) {
    const sum = p1[i] - p1[0]
    prev[i] = p2[i] - p2[0] - (sum * sum) / (p0[i] - p0[0])
  }
  let row = 0
  // cur[i] = min over m < i of prev[m] + cost(m, i), for i in [lo, hi]; leftmost argmin.
  const solve = (lo: number, hi: number, optLo: number, optHi: number): void => {
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const q0 = p0[mid]
      const q1 = p1[mid]
      const q2 = p2[mid]
      let best = Infinity
      let bestM = optLo
      const top = Math.min(mid - 1, optHi)
      for (let m = optLo; m <= top; m++) {
        const sum = q1 - p1[m]
        const c = prev[m] + (q2 - p2[m] - (sum * sum) / (q0 - p0[m]))
        if (c < best) {
          best = c
          bestM = m
        }
      }
      cur[mid] = best
      arg[row + mid] = bestM
      solve(lo, mid - 1, optLo, bestM)
      lo = mid + 1
      optLo = bestM
    }
  }
  for (let j = 2; j < k; j++) {
    row = j * stride
    solve(j, nb - k + j, j - 1, nb - k + j - 1)
    const t = prev
    prev = cur
    cur = t
  }
  // The last cluster ends at nb: one row of the search.
  row = k * stride
  solve(nb, nb, k - 1, nb - 1)
  out[k] = p.u
  let i = nb
  for (let j = k; j >= 2; j--) {
    i = arg[j * stride + i]
    out[j - 1] = cuts[i]
  }
  out[0] = 0
}

/**
 * Lloyd's algorithm on sorted centroids `c[0..k)` from the segmentation `bnd`, until no centroid
 * moves (or maxIter). Boundaries move little between rounds, so they are walked, not searched.
 */
export function lloyd(p: Prefix, c: Float64Array, k: number, bnd: Int32Array, maxIter = 100): void {
  const { v, u, s0, s1 } = p
  for (let it = 0; it < maxIter; it++) {
    for (let j = 0; j + 1 < k; j++) {
      const mid = (c[j] + c[j + 1]) / 2
      let b = Math.max(bnd[j + 1], bnd[j])
      while (b > bnd[j] && v[b - 1] > mid) b--
      while (b < u && v[b] <= mid) b++
      bnd[j + 1] = b
    }
    let moved = false
    for (let j = 0; j < k; j++) {
      const a = bnd[j]
      const b = bnd[j + 1]
      if (b <= a) continue
      const m = (s1[b] - s1[a]) / (s0[b] - s0[a])
      if (m !== c[j]) {
        c[j] = m
        moved = true
      }
    }
    if (!moved) return
  }
}

/**
 * Centroids of k-means over the prefix's values (u > k), ascending, written to `c`.
 * Exact (optimal) when u ≤ 2·bins·k; otherwise binned DP + Lloyd.
 */
export function kmeans1d(
  p: Prefix,
  k: number,
  c: Float64Array,
  s: KMeansScratch,
  bins = binsPerCluster(k),
): void {
  const target = bins * k
  const exact = p.u <= 2 * target
  s.ensureValues(p.u, k)
  let nb: number
  if (exact) {
    nb = p.u
    for (let i = 0; i <= nb; i++) s.cuts[i] = i
  } else {
    nb = chooseBins(p, target, s.cuts)
  }
  s.ensureDP(nb, k)
  const bounds = s.bnd
  segmentDP(p, s.cuts, nb, k, s, bounds)
  for (let j = 0; j < k; j++) {
    const a = bounds[j]
    const b = bounds[j + 1]
    c[j] = (p.s1[b] - p.s1[a]) / (p.s0[b] - p.s0[a])
  }
  if (!exact) lloyd(p, c, k, bounds)
}
