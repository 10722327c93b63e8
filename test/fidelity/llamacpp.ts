// llama.cpp (through node-llama-cpp's prebuilt CPU binary) as the reference for a GGUF: greedy
// continuations with the raw logits at every generated position, and its own tokenization.
// Test-only; node-llama-cpp is installed by .ci/run (npm install --no-save) and loaded lazily.
import type { Token } from 'node-llama-cpp'

/** What llama.cpp produced for one prompt. */
export interface LlamaCppRun {
  /** llama.cpp's tokenization of the prompt text (special tokens parsed). */
  promptTokens: number[]
  /** Greedy tokens after the prompt (EOS does not stop it: the comparison runs past it). */
  tokens: number[]
  /** logits[i]: the logits that chose tokens[i] (full vocabulary, float32). */
  logits: Float32Array[]
}

/** Why node-llama-cpp cannot run here, or undefined when it can. */
export async function llamaCppUnavailable(): Promise<string | undefined> {
  try {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp')
    await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error })
    return undefined
  } catch (err) {
    return `node-llama-cpp cannot load: ${(err as Error).message.split('\n')[0]}`
  }
}

/**
 * Runs llama.cpp greedily on each prompt (given as token ids, fed as they are) for `steps`
 * tokens, returning the logits behind every choice.
 */
export async function llamaCppGreedy(
  gguf: string,
  prompts: { text: string; ids: number[] }[],
  steps: number,
  vocabSize: number,
): Promise<LlamaCppRun[]> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp')
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error })
  const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 })
  const longest = Math.max(...prompts.map((p) => p.ids.length)) + steps
  const context = await model.createContext({
    contextSize: 2 ** Math.ceil(Math.log2(longest + 1)),
    batchSize: 512,
    // One thread: llama.cpp's threads spin while they wait, and on two shared cores (our
    // workers run meanwhile) two of them made decoding ten times slower.
    threads: 1,
    sequences: 1,
  })
  const runs: LlamaCppRun[] = []
  try {
    const seq = context.getSequence()
    for (const p of prompts) {
      await seq.clearHistory()
      const greedy = { temperature: 0 }
      const next = { token: true, logits: true, options: greedy }
      const ids = p.ids as Token[]
      let input: Parameters<typeof seq.controlledEvaluate>[0] = [
        ...ids.slice(0, -1),
        [ids[ids.length - 1], { generateNext: next }],
      ]
      const tokens: number[] = []
      const logits: Float32Array[] = []
      for (let i = 0; i < steps; i++) {
        const out = await seq.controlledEvaluate(input)
        const r = out[out.length - 1]?.next
        if (r?.token == null || !r.logits) throw new Error('llama.cpp returned no token/logits')
        const full = new Float32Array(vocabSize)
        for (const [t, v] of r.logits) full[t] = v
        tokens.push(r.token)
        logits.push(full)
        input = [[r.token, { generateNext: next }]]
      }
      runs.push({ promptTokens: model.tokenize(p.text, true), tokens, logits })
    }
  } finally {
    await context.dispose()
    await model.dispose()
  }
  return runs
}
