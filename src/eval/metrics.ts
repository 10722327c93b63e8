// Distances between logit vectors, in float64: log-softmax, negative log-likelihood, KL divergence
// of the softmaxes, cosine, max |Δ|, and a running summary over many positions (top-1 agreement,
// the worst and mean figures). `anemll eval` and the fidelity tests share them.

/** Index of the largest value (the first one on ties). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i
  return best
}

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

/** log Σ exp(x), computed stably. */
export function logSumExp(x: ArrayLike<number>): number {
  let max = -Infinity
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i])
  if (max === -Infinity) return -Infinity
  let sum = 0
  for (let i = 0; i < x.length; i++) sum += Math.exp(x[i] - max)
  return max + Math.log(sum)
}

/** log-softmax of logits, in float64. */
export function logSoftmax(x: ArrayLike<number>): Float64Array {
  const lse = logSumExp(x)
  return Float64Array.from({ length: x.length }, (_, i) => x[i] - lse)
}

/** −log p(target) under softmax(logits), in nats. */
export function nll(logits: ArrayLike<number>, target: number): number {
  return logSumExp(logits) - logits[target]
}

/** KL(P ‖ Q) in nats, P = softmax(ref), Q = softmax(test). */
export function klDivergence(ref: ArrayLike<number>, test: ArrayLike<number>): number {
  const lp = logSoftmax(ref)
  const lq = logSoftmax(test)
  let kl = 0
  for (let i = 0; i < lp.length; i++) kl += Math.exp(lp[i]) * (lp[i] - lq[i])
  return Math.max(0, kl)
}

/** How a test model's logits compare with reference logits over many positions. */
export interface Agreement {
  positions: number
  /** Fraction of positions whose argmax agrees. */
  top1: number
  maxAbs: number
  minCosine: number
  meanCosine: number
  meanKl: number
  maxKl: number
}

/** A running Agreement: add positions one at a time (no logits kept). */
export class AgreementStats {
  #n = 0
  #same = 0
  #maxAbs = 0
  #minCos = 1
  #cosSum = 0
  #klSum = 0
  #maxKl = 0

  /** Adds one position; returns its KL. */
  add(ref: ArrayLike<number>, test: ArrayLike<number>): number {
    if (ref.length !== test.length)
      throw new RangeError(`position ${this.#n}: ${ref.length} vs ${test.length} logits`)
    this.#n++
    if (argmax(ref) === argmax(test)) this.#same++
    this.#maxAbs = Math.max(this.#maxAbs, maxAbsDiff(ref, test))
    const c = cosine(ref, test)
    this.#minCos = Math.min(this.#minCos, c)
    this.#cosSum += c
    const kl = klDivergence(ref, test)
    this.#klSum += kl
    this.#maxKl = Math.max(this.#maxKl, kl)
    return kl
  }

  get summary(): Agreement {
    const n = this.#n
    return {
      positions: n,
      top1: n ? this.#same / n : 0,
      maxAbs: this.#maxAbs,
      minCosine: n ? this.#minCos : 0,
      meanCosine: n ? this.#cosSum / n : 0,
      meanKl: n ? this.#klSum / n : 0,
      maxKl: this.#maxKl,
    }
  }
}

/** Compares logits position by position (both lists in the same order). */
export function agreement(
  ref: readonly ArrayLike<number>[],
  test: readonly ArrayLike<number>[],
): Agreement {
  if (ref.length !== test.length) throw new RangeError(`${ref.length} vs ${test.length} positions`)
  const s = new AgreementStats()
  ref.forEach((r, i) => s.add(r, test[i]))
  return s.summary
}
