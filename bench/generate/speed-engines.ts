// The two engines bench/generate/speed.ts compares, behind one interface: ours (src/generate:
// Model's KV cache for prompts, Session for chats) and llama.cpp through node-llama-cpp
// (sequence.evaluate for prompts, LlamaChatSession for chats). Both are fed the same prompt ids,
// decode greedily, and are timed the same way (see Run).
import { loadModel } from '../../src/generate/index.js'
import type { HeadOutput } from '../../src/generate/head.js'

/** One prompt → greedy tokens. Tokenization is outside every timing. */
export interface Run {
  /** From the call to the first token chosen: prefill of all prompt ids, head, argmax. */
  ttftMs: number
  /** Prompt ids / TTFT. */
  prefillTps: number
  /** Decode steps (each feeds one token and picks the next) per second after the first token. */
  decodeTps: number
  /** The greedy tokens, first included. */
  tokens: number[]
}

/** One chat turn. */
export interface Turn {
  /** Tokens in the context (KV cache) before the turn. */
  before: number
  /** Tokens fed for the turn (what was not in the cache already). */
  fed: number
  /** From sending the user message (templating included) to the first token of the reply. */
  ttftMs: number
  generated: number
}

export interface Engine {
  readonly loadMs: number
  readonly warmupMs: number
  /** Prompt ids through prefill, then up to `tokens` greedy tokens (fewer past `budgetMs`). */
  run(ids: readonly number[], tokens: number, budgetMs: number): Promise<Run>
  /** A chat with `system`, one turn per question, each reply at most `maxTokens` long. */
  chat(system: string, questions: readonly string[], maxTokens: number): Promise<Turn[]>
  dispose(): Promise<void>
}

const rate = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0)

function argmax(out: HeadOutput): number {
  if (out.kind === 'argmax') return out.token
  const x = out.logits
  let best = 0
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i
  return best
}

/** Our engine on a converted folder; warmed up as loadModel's `warmup` does. */
export async function loadOurs(dir: string): Promise<Engine> {
  const t0 = performance.now()
  const model = await loadModel(dir)
  const t1 = performance.now()
  await model.warmup()
  const t2 = performance.now()
  const cache = model.newCache()
  return {
    loadMs: t1 - t0,
    warmupMs: t2 - t1,
    async run(ids, tokens, budgetMs) {
      cache.reset()
      const start = performance.now()
      const out = [argmax((await cache.fill(ids)).out!)]
      const first = performance.now()
      // At least 3 decode steps, however slow, so the rate means something.
      while (out.length < tokens && (out.length < 4 || performance.now() - first < budgetMs))
        out.push(argmax((await cache.step(out[out.length - 1])).out))
      const end = performance.now()
      return {
        ttftMs: first - start,
        prefillTps: rate(ids.length, first - start),
        decodeTps: rate(out.length - 1, end - first),
        tokens: out,
      }
    },
    async chat(system, questions, maxTokens) {
      const session = model.session({ system })
      const turns: Turn[] = []
      for (const q of questions) {
        const before = session.contextTokens.length
        const { stats } = await session.complete(q, { maxTokens, temperature: 0 })
        turns.push({
          before,
          fed: stats.prefillTokens,
          ttftMs: stats.ttftMs,
          generated: stats.generatedTokens,
        })
      }
      return turns
    },
    async dispose() {},
  }
}

// The subset of node-llama-cpp 3.x used here (it is not in package.json, so neither are its types).
interface Sequence {
  readonly contextTokens: readonly number[]
  readonly tokenMeter: { readonly usedInputTokens: number }
  clearHistory(): Promise<void>
  evaluate(
    tokens: number[],
    o: { temperature: number; yieldEogToken: boolean },
  ): AsyncGenerator<number, void, void>
}
interface ChatSession {
  readonly chatWrapper: { readonly wrapperName: string }
  prompt(
    text: string,
    o: { maxTokens: number; temperature: number; onToken: (t: number[]) => void },
  ): Promise<string>
  dispose(o: { disposeSequence: boolean }): void
}
interface LlamaModule {
  getLlama(o: { gpu: false; build: 'never'; logLevel: unknown }): Promise<{
    loadModel(o: { modelPath: string; gpuLayers: number }): Promise<{
      createContext(o: {
        contextSize: number
        batchSize: number
        threads: number
        sequences: number
      }): Promise<{ getSequence(): Sequence; dispose(): Promise<void> }>
      dispose(): Promise<void>
    }>
  }>
  LlamaLogLevel: { error: unknown }
  LlamaChatSession: new (o: {
    contextSequence: Sequence
    systemPrompt: string
    autoDisposeSequence: boolean
  }) => ChatSession
}

const MODULE = 'node-llama-cpp'
let llamaModule: Promise<LlamaModule> | undefined

/** node-llama-cpp, or a one-line reason why it cannot load (not installed, no prebuilt binary). */
export async function llamaCpp(): Promise<LlamaModule | string> {
  try {
    return await (llamaModule ??= import(MODULE) as Promise<LlamaModule>)
  } catch (err) {
    return `node-llama-cpp cannot load: ${(err as Error).message.split('\n')[0]}`
  }
}

/** The chat wrapper node-llama-cpp chose for the last chat (e.g. ChatML). */
export let llamaChatWrapper = ''

/**
 * llama.cpp on a GGUF: CPU only, the prebuilt binary (never built or downloaded), the whole
 * prompt in one batch (its default of 512), greedy sampling in C++.
 */
export async function loadLlamaCpp(
  lib: LlamaModule,
  gguf: string,
  contextSize: number,
  threads: number,
): Promise<Engine> {
  const t0 = performance.now()
  const llama = await lib.getLlama({
    gpu: false,
    build: 'never',
    logLevel: lib.LlamaLogLevel.error,
  })
  const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 })
  const context = await model.createContext({ contextSize, batchSize: 512, threads, sequences: 1 })
  const seq = context.getSequence()
  const t1 = performance.now()
  const engine: Engine = {
    loadMs: t1 - t0,
    warmupMs: 0,
    async run(ids, tokens) {
      await seq.clearHistory()
      const out: number[] = []
      const start = performance.now()
      let first = start
      // yieldEogToken: an end-of-turn token does not end the measurement early.
      for await (const t of seq.evaluate([...ids], { temperature: 0, yieldEogToken: true })) {
        if (!out.length) first = performance.now()
        out.push(t)
        if (out.length >= tokens) break
      }
      const end = performance.now()
      return {
        ttftMs: first - start,
        prefillTps: rate(ids.length, first - start),
        decodeTps: rate(out.length - 1, end - first),
        tokens: out,
      }
    },
    async chat(system, questions, maxTokens) {
      await seq.clearHistory()
      const session = new lib.LlamaChatSession({
        contextSequence: seq,
        systemPrompt: system,
        autoDisposeSequence: false,
      })
      llamaChatWrapper = session.chatWrapper.wrapperName
      const turns: Turn[] = []
      try {
        for (const q of questions) {
          const before = seq.contextTokens.length
          const used = seq.tokenMeter.usedInputTokens
          let generated = 0
          let first = 0
          let fed = 0
          const start = performance.now()
          await session.prompt(q, {
            maxTokens,
            temperature: 0,
            onToken: (t) => {
              if (!generated) {
                first = performance.now()
                fed = seq.tokenMeter.usedInputTokens - used
              }
              generated += t.length
            },
          })
          if (!generated) first = performance.now()
          turns.push({ before, fed, ttftMs: first - start, generated })
        }
      } finally {
        session.dispose({ disposeSequence: false })
      }
      return turns
    },
    async dispose() {
      await context.dispose()
      await model.dispose()
    },
  }
  // Warm-up as for ours: one batch and a few decode steps, so first-call costs stay out.
  await engine.run(
    Array.from({ length: 64 }, (_, i) => 100 + i),
    10,
    0,
  )
  return { ...engine, warmupMs: performance.now() - t1 }
}
