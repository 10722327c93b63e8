// The KV cache and the token ids it holds. Row p of the cache belongs to `tokens[p]`; rows past
// `tokens.length` are stale and always behind the causal mask, so "forgetting" tokens is free and
// a new prompt only feeds what differs from the cached ids (the longest common prefix is kept).
//
// Feeding: full batches of B through `prefill` (ANEMLL 0.3.5, §5.1). The r < B ids left over go
// through ONE more `prefill`, padded to B with id 0, when r ≥ padPrefill and the batch fits
// (p + B ≤ C), as ANEMLL's Swift monolithic runtime does; otherwise one at a time through
// `infer` (ANEMLL's Python). Padding is exact: rows p+r..p+B−1 get garbage, but they lie past
// `tokens.length` (stale), the real rows are computed causally without seeing them, and any later
// query at q attends rows ≤ q only after row q was rewritten by its real token. The head runs on
// the last id only: when that id went through `prefill`, it is fed again through `infer` at its
// own position for its logits (ANEMLL does the same; the row is rewritten with the same values,
// up to rounding).
//
// Window: when a token must be fed and all C rows are taken, the window shifts (ANEMLL chat_full
// and Swift): the last new_size tokens of the sequence, the new token included, are re-fed from
// position 0 into a fresh (zeroed) cache, with
//   new_size = min(max(1, ⌊C/B⌋ − 2) · B, max(1, C − B))
// e.g. C = 512, B = 64 → 384; C = 256, B = 32 → 192. Unlike chat_full (which shifts at C − 2)
// the shift happens only when no row is left, so every one of the C rows is used.
import { setImmediate as tick } from 'node:timers/promises'
import type { State } from '../runtime/index.js'
import { assert, UsageError } from '../util/errors.js'
import type { HeadOutput } from './head.js'
import type { Runner } from './parts.js'

/** Tokens kept when the window overflows (ANEMLL's new_size). */
export function windowKeep(context: number, batch: number): number {
  const batches = Math.max(1, Math.floor(context / batch) - 2)
  return Math.min(batches * batch, Math.max(1, context - batch))
}

/** The id a padded prefill batch is filled up with (ANEMLL Swift's; any id gives the same result). */
export const PAD_ID = 0

/**
 * The default padPrefill: ⌈B/5⌉. A padded prefill costs one `prefill` plus the head's extra
 * `infer`, so it beats r `infer` calls once r > 1 + ρ, ρ = prefill time / infer time. A prefill is
 * compute-bound, so ρ grows with B. Measured on SmolLM2-135M (B = 64, 2 cores, native kernels):
 * ρ ≈ 11–12 for LUT4 and fp16 (time to first token breaks even at r ≈ 13); 25–30 with the
 * TypeScript kernels. Executors with a cheaper prefill (more cores, an accelerator) can pass a
 * lower value.
 */
export function defaultPadPrefill(batch: number): number {
  return Math.ceil(batch / 5)
}

/**
 * The padPrefill threshold for an option value: `undefined` → the default, `false` → Infinity
 * (ANEMLL's exact call sequence), else an integer ≥ 1 (or Infinity).
 * @throws UsageError for anything else
 */
export function padThreshold(value: number | false | undefined, batch: number): number {
  if (value === undefined) return defaultPadPrefill(batch)
  if (value === false || value === Infinity) return Infinity
  if (!Number.isInteger(value) || value < 1)
    throw new UsageError(`padPrefill must be an integer >= 1, Infinity or false, got ${value}`)
  return value
}

/** How a KvCache feeds ids. */
export interface FeedOptions {
  /** Full batches go through `prefill` (default true); false feeds every id through `infer`. */
  batchPrefill?: boolean
  /**
   * The smallest leftover (ids after the full batches) fed as one `prefill` padded to B rather
   * than one `infer` per id (default ⌈B/5⌉; `false` keeps ANEMLL 0.3.5's calls).
   */
  padPrefill?: number | false
}

/** The longest common prefix of two id lists. */
export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a[i] === b[i]) i++
  return i
}

export interface FillResult {
  /** Head output after the last id; undefined when aborted. */
  out?: HeadOutput
  /** Ids found in the cache already (not fed again). */
  reused: number
  /** Ids fed (batched or not). */
  fed: number
  /** Leading ids dropped because the sequence was longer than the window. */
  dropped: number
}

export class KvCache {
  /** Ids whose KV rows are valid, by position. */
  readonly tokens: number[] = []
  readonly state: State
  /** Full batches go through `prefill` (else everything goes through `infer`). */
  readonly batchPrefill: boolean
  /** The smallest leftover fed as one padded `prefill` (Infinity: never). */
  readonly padPrefill: number
  readonly #run: Runner

  constructor(runner: Runner, opts: FeedOptions = {}) {
    this.#run = runner
    this.state = runner.newState()
    this.batchPrefill = opts.batchPrefill ?? true
    this.padPrefill = padThreshold(opts.padPrefill, runner.batch)
  }

  get context(): number {
    return this.#run.context
  }

  /** Tokens kept after an overflow. */
  get keep(): number {
    return windowKeep(this.#run.context, this.#run.batch)
  }

  /** Forgets everything and zeroes the state (a fresh cache). */
  reset(): void {
    this.tokens.length = 0
    this.state.reset()
  }

  /** Real ids the prefill at `p` takes (the rest of its B is padding); 0: feed through `infer`. */
  #batchAt(p: number, n: number): number {
    const B = this.#run.batch
    const k = Math.min(B, n - p)
    if (!this.batchPrefill || k === 0 || p + B > this.#run.context) return 0
    return k === B || k >= this.padPrefill ? k : 0
  }

  /**
   * Makes the cache hold `ids` (their last `keep` ids when longer than the window) and returns
   * the head output after the last one. Stops between calls when `signal` aborts; the cache then
   * holds the ids fed so far.
   */
  async fill(ids: readonly number[], signal?: AbortSignal): Promise<FillResult> {
    assert(ids.length > 0, 'fill needs at least one id')
    const C = this.#run.context
    const B = this.#run.batch
    const dropped = ids.length > C ? ids.length - this.keep : 0
    const seq = dropped ? ids.slice(dropped) : ids
    const n = seq.length
    // At least the last id is fed: its logits are what we are after.
    const reused = Math.min(commonPrefix(this.tokens, seq), n - 1)
    this.tokens.length = reused
    let p = reused
    for (let k = this.#batchAt(p, n); k > 0; p += k, k = this.#batchAt(p, n)) {
      if (signal?.aborted) return { reused, fed: p - reused, dropped }
      const batch = seq.slice(p, p + k)
      // An update_mask, when the model takes one, marks all B rows: padding rows are just stale.
      const padded = k < B ? [...batch, ...new Array<number>(B - k).fill(PAD_ID)] : batch
      this.#run.prefill(this.state, padded, p)
      this.tokens.push(...batch)
      await tick()
    }
    let out: HeadOutput | undefined
    for (; p < n; p++) {
      if (signal?.aborted) return { reused, fed: p - reused, dropped }
      out = this.#run.infer(this.state, seq[p], p, p === n - 1)
      this.tokens.push(seq[p])
      if (p < n - 1) await tick()
    }
    if (!out) {
      if (signal?.aborted) return { reused, fed: p - reused, dropped }
      out = this.#run.infer(this.state, seq[n - 1], n - 1, true)
    }
    return { out, reused, fed: n - reused, dropped }
  }

  /**
   * Feeds one id after the cached ones and returns the head output; shifts the window first when
   * the cache is full (`shifted` then says how many ids were dropped).
   */
  async step(id: number): Promise<{ out: HeadOutput; shifted?: number }> {
    const C = this.#run.context
    if (this.tokens.length < C) {
      const out = this.#run.infer(this.state, id, this.tokens.length, true)
      this.tokens.push(id)
      return { out }
    }
    const seq = [...this.tokens.slice(this.tokens.length - (this.keep - 1)), id]
    const shifted = this.tokens.length + 1 - seq.length
    this.reset()
    const r = await this.fill(seq)
    return { out: r.out!, shifted }
  }
}
