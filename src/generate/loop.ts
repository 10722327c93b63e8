// One generation: fill the cache with the prompt, then pick a token, stream its text, feed it,
// until a stop id, a stop string, the token limit, a full window (when not shifting) or an abort.
import { setImmediate as tick } from 'node:timers/promises'
import { IncrementalDecoder } from '../tokenizer/detokenize.js'
import type { Tokenizer } from '../tokenizer/tokenizer.js'
import { UsageError } from '../util/errors.js'
import type { KvCache } from './cache.js'
import type { HeadOutput } from './head.js'
import { Sampler } from './sample.js'
import { StopStrings } from './stop.js'
import type {
  GenerateOptions,
  GenerationEvent,
  GenerationResult,
  GenerationStats,
  StopReason,
} from './types.js'

export interface LoopInput {
  cache: KvCache
  argmaxHead: boolean
  tokenizer: Tokenizer
  /** The prompt ids (for a session: the whole conversation). */
  ids: number[]
  stopIds: ReadonlySet<number>
  opts: GenerateOptions
  /** performance.now() when the caller started (TTFT counts from there). */
  started: number
  droppedMessages?: number
}

/** A decoder whose first delta keeps its leading space: primed with the last prompt id. */
function primedDecoder(tok: Tokenizer, lastPromptId: number): IncrementalDecoder {
  const detok = new IncrementalDecoder(tok, { skipSpecialTokens: true })
  // A prompt ending inside a multi-byte character is left unprimed (its bytes would leak).
  if (!tok.decode([lastPromptId]).endsWith('\ufffd')) detok.push(lastPromptId)
  return detok
}

/**
 * The sampler for `opts`, refusing what an argmax head cannot do (it returns no logits).
 * @throws UsageError for out-of-range options or sampling with an argmax head
 */
export function checkedSampler(opts: GenerateOptions, argmaxHead: boolean): Sampler {
  const sampler = new Sampler(opts)
  if (argmaxHead && !sampler.greedy)
    throw new UsageError(
      'this model computes argmax inside its LM head (converted with --argmax): only greedy decoding is possible (temperature 0)',
    )
  if (argmaxHead && sampler.config.repetitionPenalty !== 1)
    throw new UsageError('a repetition penalty needs logits; this model returns argmax only')
  return sampler
}

const rate = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0)

/** Runs one generation; yields its events and returns its result (also sent as `done`). */
export async function* generationLoop(
  input: LoopInput,
): AsyncGenerator<GenerationEvent, GenerationResult> {
  const { cache, tokenizer, ids, opts } = input
  const sampler = checkedSampler(opts, input.argmaxHead)
  const maxTokens = opts.maxTokens ?? cache.context
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    throw new UsageError(`max tokens must be an integer >= 1, got ${maxTokens}`)
  const stopIds = new Set([...input.stopIds, ...(opts.stopTokens ?? [])])
  const signal = opts.signal

  const t0 = performance.now()
  const fill = await cache.fill(ids, signal)
  const tFirst = performance.now()
  const prompt = ids.slice(fill.dropped)
  const detok = primedDecoder(tokenizer, prompt[prompt.length - 1])
  const stops = new StopStrings(opts.stop)
  const tokens: number[] = []
  let text = ''
  let reason: StopReason | undefined
  let stopToken: number | undefined
  let ttft = 0
  let steps = 0
  let shifts = 0
  let out: HeadOutput | undefined = fill.out
  if (!out) reason = 'aborted'
  while (out && !reason) {
    const id = out.kind === 'argmax' ? out.token : sampler.pick(out.logits, cache.tokens)
    if (tokens.length === 0 && stopToken === undefined) ttft = performance.now() - input.started
    if (stopIds.has(id)) {
      reason = 'eos'
      stopToken = id
      break
    }
    tokens.push(id)
    const s = stops.push(detok.push(id))
    text += s.text
    const logits = opts.returnLogits && out.kind === 'logits' ? out.logits : undefined
    yield { type: 'token', id, text: s.text, ...(logits ? { logits } : {}) }
    if (s.stopped) reason = 'stop_string'
    else if (tokens.length >= maxTokens) reason = 'max_tokens'
    else if (cache.tokens.length >= cache.context && opts.shift === false) reason = 'context_full'
    else if (signal?.aborted) reason = 'aborted'
    if (reason) break
    await tick() // lets signal handlers (Ctrl-C) and timers run between tokens
    if (signal?.aborted) {
      reason = 'aborted'
      break
    }
    const r = await cache.step(id)
    steps++
    if (r.shifted) {
      shifts++
      yield { type: 'shift', dropped: r.shifted, kept: cache.tokens.length }
    }
    out = r.out
  }
  if (reason !== 'stop_string') {
    const tail = stops.push(detok.flushComplete()).text + stops.flush()
    if (tail) {
      text += tail
      yield { type: 'text', text: tail }
    }
  }
  const end = performance.now()
  const prefillMs = tFirst - t0
  const decodeMs = end - tFirst
  const stats: GenerationStats = {
    promptTokens: prompt.length,
    reusedTokens: fill.reused,
    prefillTokens: fill.fed,
    generatedTokens: tokens.length,
    ttftMs: ttft || tFirst - input.started,
    prefillMs,
    prefillTokensPerSecond: rate(fill.fed, prefillMs),
    decodeMs,
    decodeTokensPerSecond: rate(steps, decodeMs),
    totalMs: end - input.started,
    windowShifts: shifts,
    truncatedTokens: fill.dropped,
    droppedMessages: input.droppedMessages ?? 0,
    stopReason: reason ?? 'max_tokens',
    ...(stopToken !== undefined ? { stopToken } : {}),
    ...(sampler.greedy ? {} : { seed: sampler.config.seed }),
  }
  const result: GenerationResult = { text, tokens, prompt, stats }
  yield { type: 'done', result }
  return result
}
