// Test-side helpers over src/eval/metrics.ts (the distances themselves): one-line summaries and
// the near-tie rule for comparing tokens with a reference.
import { argmax, type Agreement } from '../../src/eval/metrics.js'

export {
  agreement,
  argmax,
  cosine,
  klDivergence,
  logSoftmax,
  maxAbsDiff,
  type Agreement,
} from '../../src/eval/metrics.js'

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
