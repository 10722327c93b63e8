// Distances between logit vectors, in float64: max |Δ|, cosine, KL divergence of the softmaxes,
// and a summary over many positions (top-1 agreement and the worst and mean figures).

/** max |a − b|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

/** Cosine similarity of a and b. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0
  let aa = 0
  let bb = 0
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i]
    aa += a[i] * a[i]
    bb += b[i] * b[i]
  }
  return ab / Math.sqrt(aa * bb)
}

/** log-softmax of logits, in float64. */
export function logSoftmax(x: ArrayLike<number>): Float64Array {
  let max = -Infinity
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i])
  let sum = 0
  for (let i = 0; i < x.length; i++) sum += Math.exp(x[i] - max)
  const lse = max + Math.log(sum)
  return Float64Array.from({ length: x.length }, (_, i) => x[i] - lse)
}

/** KL(P ‖ Q) in nats, P = softmax(ref), Q = softmax(test). */
export function klDivergence(ref: ArrayLike<number>, test: ArrayLike<number>): number {
  const lp = logSoftmax(ref)
  const lq = logSoftmax(test)
  let kl = 0
  for (let i = 0; i < lp.length; i++) kl += Math.exp(lp[i]) * (lp[i] - lq[i])
  return Math.max(0, kl)
}

function argmax(x: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i
  return best
}

/** How a test model's logits compare with reference logits over many positions. */
export interface Agreement {
  positions: number
  /** Fraction of positions whose argmax agrees. */
  top1: number
  maxAbs: number
  minCosine: number
  meanKl: number
  maxKl: number
}

/** Compares logits position by position (both lists in the same order). */
export function agreement(
  ref: readonly ArrayLike<number>[],
  test: readonly ArrayLike<number>[],
): Agreement {
  if (ref.length !== test.length) throw new Error(`${ref.length} vs ${test.length} positions`)
  let same = 0
  let maxAbs = 0
  let minCosine = 1
  let klSum = 0
  let maxKl = 0
  ref.forEach((r, i) => {
    const t = test[i]
    if (r.length !== t.length) throw new Error(`position ${i}: ${r.length} vs ${t.length} logits`)
    if (argmax(r) === argmax(t)) same++
    maxAbs = Math.max(maxAbs, maxAbsDiff(r, t))
    minCosine = Math.min(minCosine, cosine(r, t))
    const kl = klDivergence(r, t)
    klSum += kl
    maxKl = Math.max(maxKl, kl)
  })
  const n = ref.length
  return { positions: n, top1: same / n, maxAbs, minCosine, meanKl: klSum / n, maxKl }
}

/** One line for test output: `label: top-1 24/24, max |Δ| 0.0123, cos ≥ 0.99999, KL …`. */
export function describe(label: string, a: Agreement): string {
  const top1 = Math.round(a.top1 * a.positions)
  return (
    `${label}: top-1 ${top1}/${a.positions}, max |Δ| ${a.maxAbs.toFixed(4)}, ` +
    `min cos ${a.minCosine.toFixed(6)}, KL mean ${a.meanKl.toExponential(2)} ` +
    `max ${a.maxKl.toExponential(2)}`
  )
}

/**
 * The near-tie margin for a side whose logits stray up to `maxDev` from the reference's: two
 * logits each off by maxDev can swap when they are up to 2·maxDev apart. `floor` is the margin
 * under which a real model's reference is itself a coin toss (0.1 logits; tiny random models,
 * whose logits are small, pass 0).
 */
export function nearTieMargin(maxDev: number, floor = 0.1): number {
  return Math.max(2 * maxDev, floor)
}

/**
 * Teacher-forced positions where `logits` picks another token than the reference although the
 * reference's top-2 margin there is at least `margin`: a flip there is a real disagreement, while
 * a near-tie below the margin may flip with roundings both sides are allowed.
 */
export function decisiveMismatches(
  refTokens: readonly number[],
  refGaps: readonly number[],
  logits: readonly ArrayLike<number>[],
  margin: number,
): number[] {
  return logits.flatMap((l, i) => (refGaps[i] >= margin && argmax(l) !== refTokens[i] ? [i] : []))
}

/** How many forced tokens `logits` reproduces before its first flip (its greedy prefix). */
export function greedyPrefix(refTokens: readonly number[], logits: readonly ArrayLike<number>[]) {
  const k = logits.findIndex((l, i) => argmax(l) !== refTokens[i])
  return k < 0 ? logits.length : k
}
