// Choosing the next token from logits: greedy, or sampling with Hugging Face's processor order
// (repetition penalty → temperature → top-k → top-p → min-p), drawn from a seeded PRNG so that
// the same seed gives the same tokens.
import { UsageError } from '../util/errors.js'

export interface SamplingOptions {
  /** 0 (default) is greedy: the lowest id among the maximal logits, as ANEMLL's Python picks. */
  temperature?: number
  /** Keep the k most likely tokens; 0 (default) keeps all. top-k 1 is greedy. */
  topK?: number
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 (default) is off. */
  topP?: number
  /** Drop tokens less likely than minP × the top token's probability; 0 (default) is off. */
  minP?: number
  /** > 1 discourages ids already in the context (HF: logit / p if positive, logit · p if not). */
  repetitionPenalty?: number
  /** PRNG seed (any integer); a random one is drawn (and reported) when unset. */
  seed?: number
}

/** Sampling options with defaults filled in and ranges checked. */
export type SamplingConfig = Required<SamplingOptions>

/** Checks ranges (UsageError naming the option) and fills defaults. */
export function samplingConfig(o: SamplingOptions = {}): SamplingConfig {
  const c = {
    temperature: o.temperature ?? 0,
    topK: o.topK ?? 0,
    topP: o.topP ?? 1,
    minP: o.minP ?? 0,
    repetitionPenalty: o.repetitionPenalty ?? 1,
    seed: o.seed ?? Math.floor(Math.random() * 2 ** 32),
  }
  const bad = (name: string, v: number, want: string) =>
    new UsageError(`${name} must be ${want}, got ${v}`)
  if (!(c.temperature >= 0) || !Number.isFinite(c.temperature))
    throw bad('temperature', c.temperature, 'a number >= 0')
  if (!Number.isInteger(c.topK) || c.topK < 0) throw bad('top-k', c.topK, 'an integer >= 0')
  if (!(c.topP > 0 && c.topP <= 1)) throw bad('top-p', c.topP, 'in (0, 1]')
  if (!(c.minP >= 0 && c.minP < 1)) throw bad('min-p', c.minP, 'in [0, 1)')
  if (!(c.repetitionPenalty > 0) || !Number.isFinite(c.repetitionPenalty))
    throw bad('repetition penalty', c.repetitionPenalty, 'a number > 0')
  if (!Number.isInteger(c.seed)) throw bad('seed', c.seed, 'an integer')
  return c
}

/** True when the choice is the argmax of the (penalized) logits. */
export const isGreedy = (c: SamplingConfig): boolean => c.temperature === 0 || c.topK === 1

/** mulberry32: a small, fast, well-distributed 32-bit PRNG; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The lowest index of the maximum. */
export function argmax(x: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i
  return best
}

/** Applies the repetition penalty to a copy of `logits` for every distinct id in `history`. */
export function penalize(logits: Float32Array, history: Iterable<number>, p: number): Float32Array {
  if (p === 1) return logits
  const out = logits.slice()
  for (const id of new Set(history))
    if (id >= 0 && id < out.length) out[id] = out[id] < 0 ? out[id] * p : out[id] / p
  return out
}

/** The k-th largest value (k ≥ 1) by quickselect on a copy; NaN counts as -Infinity. */
function kthLargest(x: Float32Array, k: number): number {
  const a = x.slice()
  for (let i = 0; i < a.length; i++) if (a[i] !== a[i]) a[i] = -Infinity
  const target = k - 1 // index in descending order
  let lo = 0
  let hi = a.length - 1
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]
    let i = lo
    let j = hi
    while (i <= j) {
      while (a[i] > pivot) i++
      while (a[j] < pivot) j--
      if (i <= j) {
        const t = a[i]
        a[i++] = a[j]
        a[j--] = t
      }
    }
    if (target <= j) hi = j
    else if (target >= i) lo = i
    else break // between j and i everything equals the pivot
  }
  return a[target]
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topIndices(x: Float32Array, k: number): Int32Array {
  const n = Math.min(k, x.length)
  const order = (a: number, b: number) => x[b] - x[a] || a - b
  if (n === x.length) return Int32Array.from(x.keys()).sort(order)
  // Selection in O(V): the k-th largest value, then what is above it and enough ties.
  const threshold = kthLargest(x, n)
  const out = new Int32Array(n)
  let m = 0
  for (let i = 0; i < x.length; i++) if (x[i] > threshold) out[m++] = i
  for (let i = 0; i < x.length && m < n; i++) if (x[i] === threshold) out[m++] = i
  return out.sort(order)
}

/** Picks tokens from logits with one configuration and its own PRNG stream. */
export class Sampler {
  readonly config: SamplingConfig
  #random: () => number

  constructor(opts: SamplingOptions = {}) {
    this.config = samplingConfig(opts)
    this.#random = seededRandom(this.config.seed)
  }

  get greedy(): boolean {
    return isGreedy(this.config)
  }

  /** The next token given the logits and the ids in context (for the repetition penalty). */
  pick(logits: Float32Array, history: Iterable<number> = []): number {
    const c = this.config
    const w = penalize(logits, history, c.repetitionPenalty)
    if (this.greedy) return argmax(w)
    const inv = 1 / c.temperature
    const max = w[argmax(w)]
    // Pure temperature sampling needs no ordering: draw from the whole distribution.
    if (c.topK === 0 && c.topP === 1 && c.minP === 0) {
      const p = new Float64Array(w.length)
      let z = 0
      for (let i = 0; i < w.length; i++) z += p[i] = Math.exp((w[i] - max) * inv)
      return draw(p, z, this.#random())
    }
    const { cands, total } = this.#candidates(w, max, inv)
    const p = new Float64Array(cands.length)
    for (let i = 0; i < cands.length; i++) p[i] = Math.exp((w[cands[i]] - max) * inv)
    let keep = cands.length
    if (c.topP < 1) {
      let cum = 0
      for (let i = 0; i < keep; i++) {
        cum += p[i]
        if (cum >= c.topP * total) {
          keep = i + 1
          break
        }
      }
    }
    if (c.minP > 0) {
      let i = 1
      while (i < keep && p[i] >= c.minP * p[0]) i++
      keep = i
    }
    let z = 0
    for (let i = 0; i < keep; i++) z += p[i]
    return cands[draw(p.subarray(0, keep), z, this.#random())]
  }

  /**
   * The sorted candidates the filters need, and the mass top-p is relative to: the top k (HF
   * renormalizes over them), else a sorted prefix sure to contain the top-p and min-p cuts (256 usually
   * does; 8× more until it does) with the mass of the whole vocabulary.
   */
  #candidates(w: Float32Array, max: number, inv: number): { cands: Int32Array; total: number } {
    const c = this.config
    const weight = (i: number) => Math.exp((w[i] - max) * inv)
    const mass = (ids: Int32Array) => ids.reduce((s, i) => s + weight(i), 0)
    if (c.topK > 0) {
      const cands = topIndices(w, c.topK)
      return { cands, total: mass(cands) }
    }
    let total = 0
    for (let i = 0; i < w.length; i++) total += weight(i)
    // Widen until the cuts fall inside: flat distributions need more candidates.
    for (let k = 256; ; k *= 8) {
      const cands = topIndices(w, k)
      if (cands.length === w.length) return { cands, total }
      const pOk = c.topP === 1 || mass(cands) >= c.topP * total
      const minOk = c.topP < 1 || weight(cands[cands.length - 1]) < c.minP
      if (pOk && minOk) return { cands, total }
    }
  }
}

/** Index of the first cumulative weight ≥ u·z (the last index on rounding shortfall). */
function draw(p: ArrayLike<number>, z: number, u: number): number {
  const r = u * z
  let cum = 0
  for (let i = 0; i < p.length; i++) {
    cum += p[i]
    if (cum > r) return i
  }
  return p.length - 1
}
