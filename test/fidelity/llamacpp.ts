// llama.cpp (through node-llama-cpp's prebuilt CPU binary) as the reference for a GGUF: greedy
// continuations with the raw logits at every generated position, and its own tokenization.
// Test-only; node-llama-cpp is installed by .ci/run (npm install --no-save) and loaded lazily.
// It is not in package.json, so its types are not either: the few calls used are typed below.

/** What llama.cpp produced for one prompt. */
export interface LlamaCppRun {
  /** llama.cpp's tokenization of the prompt text (special tokens parsed). */
  promptTokens: number[]
  /** Greedy tokens after the prompt (EOS does not stop it: the comparison runs past it). */
  tokens: number[]
  /** logits[i]: the logits that chose tokens[i] (full vocabulary, float32). */
  logits: Float32Array[]
}

// The subset of node-llama-cpp 3.x's API used here.
type NextOptions = { token: true; logits: true; options: { temperature: number } }
type EvalItem = number | [number, { generateNext: NextOptions }]
interface Sequence {
  clearHistory(): Promise<void>
  controlledEvaluate(
    input: EvalItem[],
  ): Promise<({ next: { token?: number | null; logits?: Map<number, number> } } | undefined)[]>
}
interface Context {
  getSequence(): Sequence
  dispose(): Promise<void>
}
interface Model {
  createContext(o: {
    contextSize: number
    batchSize: number
    threads: number
    sequences: number
  }): Promise<Context>
  tokenize(text: string, specialTokens: boolean): number[]
  dispose(): Promise<void>
}
interface Llama {
  loadModel(o: { modelPath: string; gpuLayers: number }): Promise<Model>
}
interface NodeLlamaCpp {
  getLlama(o: { gpu: false; build: 'never'; logLevel: unknown }): Promise<Llama>
  LlamaLogLevel: { error: unknown }
}

const MODULE = 'node-llama-cpp'

/** The context options shared by both runs; `longest` tokens must fit. */
function contextOptions(longest: number) {
  return {
    contextSize: 2 ** Math.ceil(Math.log2(longest + 1)),
    batchSize: 512,
    // One thread: llama.cpp's threads spin while they wait, and on two shared cores (our
    // workers run meanwhile) two of them made decoding ten times slower.
    threads: 1,
    sequences: 1,
  }
}

function fullLogits(r: { logits?: Map<number, number> } | undefined, vocabSize: number) {
  if (!r?.logits) throw new Error('llama.cpp returned no logits')
  const full = new Float32Array(vocabSize)
  for (const [t, v] of r.logits) full[t] = v
  return full
}

async function loadLlama(): Promise<Llama> {
  const { getLlama, LlamaLogLevel } = (await import(MODULE)) as NodeLlamaCpp
  // The prebuilt CPU binary from npm only: never download or build llama.cpp.
  return getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error })
}

/** Why node-llama-cpp cannot run here, or undefined when it can. */
export async function llamaCppUnavailable(): Promise<string | undefined> {
  try {
    await loadLlama()
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
  const llama = await loadLlama()
  const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 })
  const longest = Math.max(...prompts.map((p) => p.ids.length)) + steps
  const context = await model.createContext(contextOptions(longest))
  const runs: LlamaCppRun[] = []
  try {
    const seq = context.getSequence()
    const next: NextOptions = { token: true, logits: true, options: { temperature: 0 } }
    for (const p of prompts) {
      await seq.clearHistory()
      const last = p.ids.length - 1
      let input: EvalItem[] = [...p.ids.slice(0, last), [p.ids[last], { generateNext: next }]]
      const tokens: number[] = []
      const logits: Float32Array[] = []
      for (let i = 0; i < steps; i++) {
        const out = await seq.controlledEvaluate(input)
        const r = out[out.length - 1]?.next
        if (r?.token == null) throw new Error('llama.cpp returned no token')
        tokens.push(r.token)
        logits.push(fullLogits(r, vocabSize))
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

/** What llama.cpp computed for one prompt with a forced continuation. */
export interface LlamaCppForced {
  /** llama.cpp's tokenization of the prompt text (special tokens parsed). */
  promptTokens: number[]
  /** logits[i]: after the prompt and forced[0..i), so they predict forced[i]. */
  logits: Float32Array[]
}

/**
 * Teacher forcing: feeds each prompt (token ids, as they are) and its forced continuation in one
 * evaluation and returns llama.cpp's logits at every forced position. Unlike a free greedy run,
 * every position sees the same prefix as the reference, so a near-tie that llama.cpp's
 * CPU-dependent kernels flip changes one position, not everything after it.
 */
export async function llamaCppForced(
  gguf: string,
  jobs: { text: string; ids: readonly number[]; forced: readonly number[] }[],
  vocabSize: number,
): Promise<LlamaCppForced[]> {
  const llama = await loadLlama()
  const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 })
  const longest = Math.max(...jobs.map((j) => j.ids.length + j.forced.length))
  const context = await model.createContext(contextOptions(longest))
  const out: LlamaCppForced[] = []
  try {
    const seq = context.getSequence()
    const next: NextOptions = { token: true, logits: true, options: { temperature: 0 } }
    for (const j of jobs) {
      await seq.clearHistory()
      // The logits that predict forced[i] come after the prompt's last token and forced[0..i).
      const tail = [...j.ids.slice(-1), ...j.forced.slice(0, -1)]
      const input: EvalItem[] = [
        ...j.ids.slice(0, -1),
        ...tail.map((t): EvalItem => [t, { generateNext: next }]),
      ]
      const res = await seq.controlledEvaluate(input)
      const logits = res.slice(j.ids.length - 1).map((r) => fullLogits(r?.next, vocabSize))
      if (logits.length !== j.forced.length) {
        throw new Error(`llama.cpp returned ${logits.length} of ${j.forced.length} positions`)
      }
      out.push({ promptTokens: model.tokenize(j.text, true), logits })
    }
  } finally {
    await context.dispose()
    await model.dispose()
  }
  return out
}
