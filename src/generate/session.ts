// A multi-turn chat that keeps its KV cache between turns. Each turn renders the whole
// conversation, and the cache feeds only what differs from the ids it already holds (normally
// just the new turn), so a resumed session computes what a fresh prefill of the whole
// conversation would. Old turns are dropped in pairs when the conversation outgrows the window.
import type { ChatMessage } from '../tokenizer/chat-template.js'
import type { KvCache } from './cache.js'
import type { Model } from './engine.js'
import { generationLoop } from './loop.js'
import { fitConversation } from './prompt.js'
import type { GenerateOptions, GenerationEvent, GenerationResult } from './types.js'

export interface SessionOptions {
  /** A system message at the start of the conversation. */
  system?: string
  /** Passed to the chat template as enable_thinking on every turn (false: --no-think). */
  enableThinking?: boolean
}

export class Session {
  /** The conversation so far (system message first, when given). */
  readonly messages: ChatMessage[] = []
  /** The result of the last turn. */
  last?: GenerationResult
  readonly #model: Model
  readonly #cache: KvCache
  readonly #opts: SessionOptions

  constructor(model: Model, cache: KvCache, opts: SessionOptions = {}) {
    this.#model = model
    this.#cache = cache
    this.#opts = opts
    this.reset()
  }

  /** Ids currently in the KV cache. */
  get contextTokens(): readonly number[] {
    return this.#cache.tokens
  }

  /** Forgets the conversation (the system message stays) and empties the cache. */
  reset(): void {
    this.messages.length = 0
    if (this.#opts.system) this.messages.push({ role: 'system', content: this.#opts.system })
    this.#cache.reset()
    this.last = undefined
  }

  /**
   * Adds a user turn and streams the reply; the reply (also a partial one, when aborted or when
   * the caller stops iterating) becomes the assistant turn.
   * @example
   * for await (const ev of chat.send('Hi!', { signal })) if ('text' in ev) write(ev.text)
   */
  async *send(
    content: string,
    opts: GenerateOptions = {},
  ): AsyncGenerator<GenerationEvent, GenerationResult | undefined> {
    const started = performance.now()
    const o: GenerateOptions = { enableThinking: this.#opts.enableThinking, ...opts }
    this.messages.push({ role: 'user', content })
    const model = this.#model
    let loop: ReturnType<typeof generationLoop>
    try {
      const fit = fitConversation(this.messages, model.historyBudget, (m) => model.promptIds(m, o))
      this.messages.splice(0, this.messages.length, ...fit.messages)
      loop = generationLoop({
        cache: this.#cache,
        argmaxHead: model.argmaxHead,
        tokenizer: model.tokenizer,
        ids: fit.ids,
        stopIds: new Set(model.stopTokenIds),
        opts: o,
        started,
        droppedMessages: fit.droppedMessages,
      })
    } catch (err) {
      this.messages.pop()
      throw err
    }
    let text = ''
    let result: GenerationResult | undefined
    let streamed = false
    try {
      for (;;) {
        const r = await loop.next()
        if (r.done) {
          result = r.value
          break
        }
        streamed = true
        if (r.value.type === 'token' || r.value.type === 'text') text += r.value.text
        yield r.value
      }
    } catch (err) {
      if (!streamed) this.messages.pop() // nothing was generated: the turn never happened
      throw err
    } finally {
      if (streamed) this.messages.push({ role: 'assistant', content: result?.text ?? text })
      this.last = result
    }
    return result
  }

  /** Sends a user turn and waits for the whole reply. */
  async complete(content: string, opts: GenerateOptions = {}): Promise<GenerationResult> {
    const it = this.send(content, opts)
    for (;;) {
      const r = await it.next()
      if (r.done) return r.value!
    }
  }
}
