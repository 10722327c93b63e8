// The KV cache and the token ids it holds. Row p of the cache belongs to `tokens[p]`; rows past
// `tokens.length` are stale and always behind the causal mask, so "forgetting" tokens is free and
// a new prompt only feeds what differs from the cached ids (the longest common prefix is kept).
//
// Feeding follows ANEMLL 0.3.5 (§5.1): full batches of B through `prefill`, the rest one token at
// a time through `infer`; the head runs on the last token only. When the last token went through
// `prefill`, it is fed again through `infer` at its own position to get its logits (ANEMLL does
// the same; the row is rewritten with the same values).
//
// Window: when a token must be fed and all C rows are taken, the window shifts (ANEMLL chat_full
// and Swift): the last new_size tokens of the sequence, the new token included, are re-fed from
// position 0 into a fresh (zeroed) cache, with
//   new_size = min(max(1, ⌊C/B⌋ − 2) · B, max(1, C − B))
// e.g. C = 512, B = 64 → 384; C = 256, B = 32 → 192. Unlike chat_full (which shifts at C − 2)
// the shift happens only when no row is left, so every one of the C rows is used.
import { setImmediate as tick } from 'node:timers/promises'
import type { State } from '../runtime/index.js'
import { assert } from '../util/errors.js'
import type { HeadOutput } from './head.js'
import type { Runner } from './parts.js'

/** Tokens kept when the window overflows (ANEMLL's new_size). */
export function windowKeep(context: number, batch: number): number {
  const batches = Math.max(1, Math.floor(context / batch) - 2)
  return Math.min(batches * batch, Math.max(1, context - batch))
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
  readonly #run: Runner

  constructor(runner: Runner, batchPrefill: boolean) {
    this.#run = runner
    this.state = runner.newState()
    this.batchPrefill = batchPrefill
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
    while (this.batchPrefill && n - p >= B && p + B <= C) {
      if (signal?.aborted) return { reused, fed: p - reused, dropped }
      this.#run.prefill(this.state, seq.slice(p, p + B), p)
      for (let i = p; i < p + B; i++) this.tokens.push(seq[i])
      p += B
      await tick()
    }
    let out: HeadOutput | undefined
    for (; p < n; p++) {
      if (signal?.aborted) return { reused, fed: p - reused, dropped }
      out = this.#run.infer(this.state, seq[p], p, p === n - 1)
      this.tokens.push(seq[p])
      if (p < n - 1) await tick()
    }
    if (!out) out = this.#run.infer(this.state, seq[n - 1], n - 1, true)
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
