// The engine's entry point (ANEMLL's AnemllCore): a converted model folder → a Model that
// generates from a prompt, a conversation or raw ids, and opens chat Sessions.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ChatTemplate, type ChatMessage } from '../tokenizer/chat-template.js'
import { stopTokenIds } from '../tokenizer/stop-tokens.js'
import { Tokenizer } from '../tokenizer/tokenizer.js'
import { FormatError, UsageError } from '../util/errors.js'
import { KvCache, padThreshold } from './cache.js'
import { generationLoop } from './loop.js'
import { readMeta, type ModelMeta } from './meta.js'
import { loadRunner, type Runner } from './parts.js'
import { conversationIds, fitConversation, rawIds } from './prompt.js'
import { Session, type SessionOptions } from './session.js'
import type { GenerateOptions, GenerationEvent, GenerationResult } from './types.js'

export interface LoadModelOptions {
  /**
   * How prompts are fed: 'auto' (default) batches through `prefill` when meta.yaml allows it
   * (0.3.5 files), 'batch' always does, 'single' feeds every token through `infer`.
   */
  prefill?: 'auto' | 'batch' | 'single'
  /**
   * With batch prefill, the smallest leftover (the r < B ids after the full batches) fed as one
   * `prefill` padded to B with id 0 instead of r `infer` calls; the result is the same. Default
   * ⌈B/5⌉ (see `defaultPadPrefill`); `false` keeps ANEMLL 0.3.5's calls (leftover through `infer`).
   */
  padPrefill?: number | false
  /** Run every op in strict fp16 (the runtime reports the first op that overflows). */
  strictFp16?: boolean
  /** Decode through tapes (default true; see RunnerOptions.tapes): the same bits, faster. */
  tapes?: boolean
  /** Tokenizer folder (default: meta.yaml's tokenizer_path, else its folder). */
  tokenizer?: string
  /**
   * Run one prefill batch and one decode step before returning, as ANEMLL's runtimes do, so the
   * first real call is not slowed by one-time work (weights decompressed on first use).
   */
  warmup?: boolean
}

/** What to generate from: text, a conversation, or ids fed as they are. */
export type GenerateInput = string | readonly ChatMessage[] | { tokens: readonly number[] }

/** eos ids of config.json and generation_config.json (an int or a list), when present. */
function configEos(dir: string): number[] {
  const ids: number[] = []
  for (const name of ['config.json', 'generation_config.json']) {
    const file = join(dir, name)
    if (!existsSync(file)) continue
    let v: unknown
    try {
      v = (JSON.parse(readFileSync(file, 'utf8')) as { eos_token_id?: unknown }).eos_token_id
    } catch (err) {
      throw new FormatError(file, `invalid JSON: ${(err as Error).message}`)
    }
    for (const id of Array.isArray(v) ? v : [v]) if (Number.isInteger(id) && id >= 0) ids.push(id)
  }
  return ids
}

/** A converted model ready to generate. */
export class Model {
  readonly meta: ModelMeta
  readonly tokenizer: Tokenizer
  /** The tokenizer's chat template; undefined for base models (plain-text mode). */
  readonly template?: ChatTemplate
  /** Ids that end an answer: config/generation_config eos, tokenizer eos, end-of-turn tokens. */
  readonly stopTokenIds: readonly number[]
  readonly #runner: Runner
  readonly #batchPrefill: boolean
  readonly #padPrefill: number
  readonly #idle: KvCache[] = []

  constructor(meta: ModelMeta, runner: Runner, tokenizer: Tokenizer, opts: LoadModelOptions = {}) {
    this.meta = meta
    this.#runner = runner
    this.tokenizer = tokenizer
    this.template = ChatTemplate.fromTokenizer(tokenizer)
    this.stopTokenIds = stopTokenIds(tokenizer, { eos_token_id: configEos(meta.dir) })
    const mode = opts.prefill ?? 'auto'
    this.#batchPrefill = mode === 'batch' || (mode === 'auto' && meta.batchPrefill)
    this.#padPrefill = padThreshold(opts.padPrefill, runner.batch)
  }

  /** Parts found under another name than meta.yaml gives, one line each (for the user). */
  get notes(): readonly string[] {
    return this.#runner.notes ?? []
  }

  /** The LM head returns argmax (greedy only). */
  get argmaxHead(): boolean {
    return this.#runner.argmax
  }

  /** A new, empty KV cache for this model. */
  newCache(): KvCache {
    return new KvCache(this.#runner, {
      batchPrefill: this.#batchPrefill,
      padPrefill: this.#padPrefill,
    })
  }

  /** The prompt ids for `input` (templated unless `template: false` or the model has none). */
  promptIds(input: GenerateInput, opts: GenerateOptions = {}): number[] {
    if (typeof input === 'object' && 'tokens' in input) return [...input.tokens]
    if (typeof input === 'string' && (opts.template === false || !this.template))
      return rawIds(this.tokenizer, input)
    const messages: ChatMessage[] =
      typeof input === 'string'
        ? [
            ...(opts.system ? [{ role: 'system', content: opts.system }] : []),
            { role: 'user', content: input },
          ]
        : [...input]
    return conversationIds(this.tokenizer, this.template, messages, opts)
  }

  /**
   * Streams a generation from a fresh cache: `token` events (id and text delta), `text` (held-back
   * text released at the end), `shift` (window shifts) and a final `done` with the result.
   * @example
   * const model = await loadModel('out/stories')
   * for await (const ev of model.generate('Once upon a time', { maxTokens: 50 }))
   *   if (ev.type === 'token' || ev.type === 'text') process.stdout.write(ev.text)
   */
  async *generate(
    input: GenerateInput,
    opts: GenerateOptions = {},
  ): AsyncGenerator<GenerationEvent, GenerationResult> {
    const cache = this.#idle.pop() ?? this.newCache()
    cache.reset()
    try {
      return yield* this.generateOn(cache, input, opts)
    } finally {
      this.#idle.push(cache)
    }
  }

  /**
   * Streams a generation on `cache` as it stands: the ids it already holds that start the prompt
   * are not fed again (`stats.reusedTokens`), so callers that keep caches between requests (the
   * server's prompt cache) pay only for the new tokens. The cache ends up holding the prompt and
   * the reply.
   */
  async *generateOn(
    cache: KvCache,
    input: GenerateInput,
    opts: GenerateOptions = {},
  ): AsyncGenerator<GenerationEvent, GenerationResult> {
    const started = performance.now()
    let ids: number[]
    let droppedMessages = 0
    if (Array.isArray(input)) {
      const fit = fitConversation(input, this.historyBudget, (m) => this.promptIds(m, opts))
      ids = fit.ids
      droppedMessages = fit.droppedMessages
    } else ids = this.promptIds(input as GenerateInput, opts)
    return yield* generationLoop({
      cache,
      argmaxHead: this.argmaxHead,
      tokenizer: this.tokenizer,
      ids,
      stopIds: new Set(this.stopTokenIds),
      opts,
      started,
      droppedMessages,
    })
  }

  /**
   * One prefill batch and a few decode steps on dummy ids (ANEMLL runs two 10-token warm-ups):
   * weights are decompressed on first use and the JIT compiles the kernels after a few calls.
   * Stops after `budgetMs` of decode steps (at least two) so a large model is not held up.
   */
  async warmup(steps = 10, budgetMs = 1000): Promise<void> {
    const cache = this.#idle.pop() ?? this.newCache()
    const id = this.tokenizer.bos?.id ?? 0
    await cache.fill(new Array<number>(Math.min(this.meta.batch, this.meta.context - 1)).fill(id))
    const t0 = performance.now()
    for (let i = 0; i < steps && (i < 2 || performance.now() - t0 < budgetMs); i++)
      await cache.step(id)
    cache.reset()
    this.#idle.push(cache)
  }

  /**
   * Teacher forcing: feeds `ids` one at a time from a fresh KV cache through `infer` and the LM
   * head, and calls `each(i, logits)` with the logits after ids[0..i] (they predict ids[i + 1]).
   * Every position gets its own LM-head call, so this costs one decode step per id. Needs a
   * logits head and at most `context` ids.
   */
  forcedLogits(ids: readonly number[], each: (i: number, logits: Float32Array) => void): void {
    if (this.#runner.argmax)
      throw new UsageError(
        `${this.meta.dir}: the LM head returns argmax ids, not logits; convert without --argmax to score it`,
      )
    if (ids.length > this.meta.context)
      throw new RangeError(`${ids.length} ids do not fit the context of ${this.meta.context}`)
    // an idle cache keeps its decode tape: windows after the first record nothing
    const cache = this.#idle.pop() ?? this.newCache()
    cache.reset()
    try {
      ids.forEach((id, i) => {
        const out = this.#runner.infer(cache.state, id, i, true)
        if (out.kind !== 'logits') throw new Error(`${this.meta.dir}: LM head gave no logits`)
        each(i, out.logits)
      })
    } finally {
      cache.reset()
      this.#idle.push(cache)
    }
  }

  /** Runs a generation to the end and returns its result. */
  async complete(input: GenerateInput, opts: GenerateOptions = {}): Promise<GenerationResult> {
    const it = this.generate(input, opts)
    for (;;) {
      const r = await it.next()
      if (r.done) return r.value
    }
  }

  /** A multi-turn chat that keeps its KV cache between turns. */
  session(opts: SessionOptions = {}): Session {
    return new Session(this, this.newCache(), opts)
  }

  /**
   * Conversation tokens allowed before old turns are dropped: C minus room for the answer
   * (ANEMLL keeps 100 tokens free; a quarter of C when that is smaller).
   */
  get historyBudget(): number {
    const C = this.meta.context
    return C - Math.min(100, Math.floor(C / 4))
  }
}

/**
 * Loads a converted model: meta.yaml (or its folder), the tokenizer beside it, and every part
 * (.mlmodelc or .mlpackage; chunked or monolithic; logits or argmax heads).
 * @example
 * const model = await loadModel('out/qwen3/meta.yaml')
 * const chat = model.session({ system: 'Be brief.' })
 */
export async function loadModel(path: string, opts: LoadModelOptions = {}): Promise<Model> {
  const meta = readMeta(path)
  const tokenizer = await Tokenizer.load(opts.tokenizer ?? meta.tokenizerDir)
  const runner = await loadRunner(meta, { strictFp16: opts.strictFp16, tapes: opts.tapes })
  const model = new Model(meta, runner, tokenizer, opts)
  if (opts.warmup) await model.warmup()
  return model
}
