import { loadModel, type Model } from '../../generate/engine.js'
import { samplingConfig, type SamplingOptions } from '../../generate/sample.js'
import type { GenerateOptions, GenerationResult, GenerationStats } from '../../generate/types.js'
import { UsageError } from '../../util/errors.js'
import { parseFlags, type Command } from '../command.js'

const HELP = `Usage: anemll run --meta <meta.yaml | folder> --prompt <text> [options]

Generates once from a prompt with a converted model (the folder anemll convert or ANEMLL wrote)
and streams the text to standard output; statistics go to standard error. Runs on any machine:
the CoreML parts are executed by anemll's own runtime.

The prompt goes through the model's chat template as a user message; models without a
template (base models) get the raw text, as with --no-template.

Options:
  --meta <path>              meta.yaml or the folder holding it (required)
  --prompt <text>            the prompt (required; with --no-template, "" means BOS alone)
  --max-tokens <n>           tokens to generate at most (default: the context length)
  --temperature <t>          0 = greedy (default); > 0 samples
  --top-k <k>                sample from the k most likely tokens (0 = off, default)
  --top-p <p>                nucleus sampling mass (1 = off, default)
  --min-p <p>                drop tokens below p × the top probability (0 = off, default)
  --repetition-penalty <r>   > 1 discourages repeating ids in the context (1 = off, default)
  --seed <n>                 sampling seed (random when unset; printed with the statistics)
  --stop <text>              stop when the text contains it (repeatable)
  --system <text>            system message (templated models)
  --no-template              feed the prompt as raw text with the tokenizer's BOS handling
  --no-think                 enable_thinking=false for the template (Qwen3)
  --json                     print one JSON object: prompt ids, generated ids, text, statistics

Examples:
  anemll run --meta out/qwen3 --prompt "What is the capital of France?" --no-think
  anemll run --meta out/stories --prompt "Once upon a time" --max-tokens 100 --temperature 0.8 --seed 1
  anemll run --meta out/stories --prompt "" --no-template --json`

/** Sampling and stopping flags shared by run, chat and demo. */
export const GENERATION_FLAGS = {
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'min-p': { type: 'string' },
  'repetition-penalty': { type: 'string' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
} as const

function num(flag: string, v: string | undefined, integer: boolean): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
    throw new UsageError(`--${flag} must be ${integer ? 'an integer' : 'a number'}, got '${v}'`)
  return n
}

type GenerationFlagValues = { [K in keyof typeof GENERATION_FLAGS]?: string | string[] | undefined }

/** Generation options from the shared flags, their ranges checked. */
export function generationOptions(v: GenerationFlagValues): GenerateOptions & SamplingOptions {
  const s = (k: keyof typeof GENERATION_FLAGS) => v[k] as string | undefined
  const maxTokens = num('max-tokens', s('max-tokens'), true)
  if (maxTokens !== undefined && maxTokens < 1)
    throw new UsageError(`--max-tokens must be at least 1, got ${maxTokens}`)
  const o = {
    maxTokens,
    temperature: num('temperature', s('temperature'), false),
    topK: num('top-k', s('top-k'), true),
    topP: num('top-p', s('top-p'), false),
    minP: num('min-p', s('min-p'), false),
    repetitionPenalty: num('repetition-penalty', s('repetition-penalty'), false),
    seed: num('seed', s('seed'), true),
    stop: v.stop as string[] | undefined,
  }
  samplingConfig(o) // ranges checked before a model is loaded
  return o
}

const ms = (x: number) => `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`

/** One line in the spirit of ANEMLL's: decode speed, TTFT with prefill speed, count, reason. */
export function statsLine(s: GenerationStats): string {
  const parts = [
    `${s.decodeTokensPerSecond.toFixed(1)} tok/s`,
    `TTFT ${ms(s.ttftMs)} (prefill ${s.prefillTokens} tok at ${s.prefillTokensPerSecond.toFixed(1)} tok/s${s.reusedTokens ? `, ${s.reusedTokens} cached` : ''})`,
    `${s.generatedTokens} tokens`,
  ]
  if (s.windowShifts) parts.push(`${s.windowShifts} window shift${s.windowShifts > 1 ? 's' : ''}`)
  if (s.droppedMessages) parts.push(`${s.droppedMessages} old messages dropped`)
  if (s.truncatedTokens) parts.push(`${s.truncatedTokens} prompt tokens dropped`)
  if (s.seed !== undefined) parts.push(`seed ${s.seed}`)
  return `${parts.join(', ')} [${s.stopReason}]`
}

/** Streams one generation to `out`, returning its result; Ctrl-C (SIGINT) stops it. */
export async function streamTo(
  out: (text: string) => void,
  it: AsyncGenerator<{ type: string; text?: string }, GenerationResult | undefined>,
): Promise<GenerationResult | undefined> {
  for (;;) {
    const r = await it.next()
    if (r.done) return r.value
    if (r.value.text) out(r.value.text)
  }
}

/** The loaded model (ANEMLL's warm-up when `warmup`), its notes printed, for the commands. */
export async function openModel(meta: string, warmup = true): Promise<Model> {
  const model = await loadModel(meta, { warmup })
  for (const n of model.notes) process.stderr.write(`anemll: ${n}\n`)
  return model
}

export const runCommand: Command = {
  name: 'run',
  summary: 'generate once from a prompt with a converted model (any machine)',
  help: HELP,
  async run(argv) {
    const { values: v, positionals } = parseFlags('run', {
      args: argv,
      options: {
        meta: { type: 'string' },
        prompt: { type: 'string' },
        system: { type: 'string' },
        'no-template': { type: 'boolean', default: false },
        'no-think': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        ...GENERATION_FLAGS,
      },
      allowPositionals: true,
    })
    if (positionals.length)
      throw new UsageError(`unexpected argument '${positionals[0]}'. See 'anemll run --help'.`)
    if (!v.meta) throw new UsageError("--meta is required. See 'anemll run --help'.")
    if (v.prompt === undefined)
      throw new UsageError("--prompt is required. See 'anemll run --help'.")
    const opts: GenerateOptions = {
      ...generationOptions(v),
      system: v.system,
      template: v['no-template'] ? false : undefined,
      enableThinking: v['no-think'] ? false : undefined,
    }
    const model = await openModel(v.meta)
    const abort = new AbortController()
    const onSigint = () => abort.abort()
    process.on('SIGINT', onSigint)
    try {
      const it = model.generate(v.prompt, { ...opts, signal: abort.signal })
      if (v.json) {
        const r = await streamTo(() => {}, it)
        const { text, tokens, prompt, stats } = r!
        console.log(
          JSON.stringify({ model: model.meta.name, prompt, tokens, text, stats }, null, 2),
        )
        return 0
      }
      const r = await streamTo((t) => process.stdout.write(t), it)
      process.stdout.write('\n')
      process.stderr.write(`${statsLine(r!.stats)}\n`)
      return 0
    } finally {
      process.off('SIGINT', onSigint)
    }
  },
}
