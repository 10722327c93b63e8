// A request's generation: wait for the model's turn, load it, turn the job into prompt ids on the
// cache that shares their longest prefix, then stream text deltas. Everything that can refuse the
// request (unknown model, full queue, bad options, a prompt longer than the window) happens
// before the first byte of the response, so it can still be a clean 4xx.
import type { KvCache } from '../generate/cache.js'
import type { Model } from '../generate/engine.js'
import { checkedSampler } from '../generate/loop.js'
import { fitConversation } from '../generate/prompt.js'
import type { GenerationResult } from '../generate/types.js'
import { UsageError } from '../util/errors.js'
import { ApiError, badRequest, modelNotFound, queueFull } from './errors.js'
import type { Job } from './openai.js'
import type { Registry } from './registry.js'

/** What the server reports about each finished generation (logs; tests count tokens with it). */
export interface GenerationRecord {
  model: string
  result: GenerationResult
  /** Tokens generated after the client went away (-1: it did not). */
  tokensAfterAbort: number
}

export interface Prepared {
  model: Model
  ids: number[]
  cache: KvCache
  release: () => void
}

/** Seconds a client refused with 429 is told to wait. */
const RETRY_AFTER_S = 1

/** Thrown when the client left while waiting; there is nobody to answer. */
export class ClientGone extends Error {
  override name = 'ClientGone'
}

/** The prompt ids of a job for `model` (conversations lose old turns to fit the window). */
function promptIds(model: Model, job: Job): number[] {
  const input = job.input
  if (input.kind === 'chat')
    return fitConversation(input.messages, model.historyBudget, (m) => model.promptIds(m)).ids
  if (input.kind === 'text') return model.promptIds(input.prompt, { template: false })
  const bad = input.tokens.find((id) => id >= model.tokenizer.vocabSize)
  if (bad !== undefined)
    throw badRequest(
      `prompt: token id ${bad} is outside the vocabulary (${model.tokenizer.vocabSize})`,
      'prompt',
    )
  return input.tokens
}

/** Waits for the model's turn (or throws ClientGone), loads it and prepares the prompt. */
export async function prepare(
  registry: Registry,
  job: Job,
  signal: AbortSignal,
): Promise<Prepared> {
  const entry = registry.get(job.model)
  if (!entry) throw modelNotFound(job.model)
  const C = entry.meta.context
  if (job.opts.maxTokens !== undefined && job.opts.maxTokens > C)
    throw badRequest(
      `${job.maxTokensParam} is ${job.opts.maxTokens}, more than the model's context of ${C} tokens`,
      job.maxTokensParam,
    )
  const ticket = entry.lock.enter()
  if (!ticket) throw queueFull(job.model, entry.lock.waiting, RETRY_AFTER_S)
  try {
    if (signal.aborted) throw new ClientGone()
    const release = await Promise.race([
      ticket.turn,
      new Promise<never>((_, reject) =>
        signal.addEventListener('abort', () => reject(new ClientGone()), { once: true }),
      ),
    ])
    const { model, caches } = await registry.open(entry)
    if (signal.aborted) throw new ClientGone()
    const opts = job.opts
    if (opts.temperature === undefined) opts.temperature = model.argmaxHead ? 0 : 1 // OpenAI's default
    try {
      checkedSampler(opts, model.argmaxHead)
    } catch (err) {
      if (err instanceof UsageError) throw badRequest(err.message)
      throw err
    }
    const ids = promptIds(model, job)
    if (ids.length >= C) {
      const param = job.input.kind === 'chat' ? 'messages' : 'prompt'
      throw new ApiError(
        400,
        `the prompt is ${ids.length} tokens; the model's context is ${C}`,
        'invalid_request_error',
        param,
        'context_length_exceeded',
      )
    }
    return { model, ids, cache: caches.take(ids), release }
  } catch (err) {
    ticket.cancel() // leaves the queue, or releases the model if its turn had come
    throw err
  }
}

/**
 * Streams the text deltas of a prepared generation and returns its result; the model is
 * released when it ends (also when the consumer stops early or the signal aborts).
 */
export async function* generate(
  p: Prepared,
  job: Job,
  signal: AbortSignal,
  observe?: (r: GenerationRecord) => void,
): AsyncGenerator<string, GenerationResult> {
  let tokens = 0
  let atAbort = -1
  const onAbort = () => (atAbort = tokens)
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    const it = p.model.generateOn(p.cache, { tokens: p.ids }, { ...job.opts, signal })
    for (;;) {
      const r = await it.next()
      if (r.done) {
        observe?.({
          model: job.model,
          result: r.value,
          tokensAfterAbort: atAbort < 0 ? -1 : tokens - atAbort,
        })
        return r.value
      }
      if (r.value.type === 'token') tokens++
      if ((r.value.type === 'token' || r.value.type === 'text') && r.value.text) yield r.value.text
    }
  } finally {
    signal.removeEventListener('abort', onAbort)
    p.release()
  }
}
