import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { convert, convertOptions } from '../../convert/pipeline.js'
import { parseLutSpec, palettizer } from '../../quant/index.js'
import { kernelInfo } from '../../runtime/native.js'
import { UsageError } from '../../util/errors.js'
import { formatDuration } from '../../util/progress.js'
import { intFlag, parseFlags, type Command } from '../command.js'
import { GENERATION_FLAGS, generationOptions, openModel, statsLine, streamTo } from './run.js'

/** The bundled checkpoint; the same relative path from src/cli/commands and dist/cli/commands. */
export const STORIES_DIR = fileURLToPath(new URL('../../../assets/stories260K/', import.meta.url))

const HELP = `Usage: anemll demo [options]

The whole job on the bundled model, offline: converts stories260K (Karpathy's 260K-parameter
TinyStories Llama, MIT, shipped in assets/) to LUT-quantized CoreML parts in a temp folder,
loads them with anemll's own runtime and tells a story, then prints how long the conversion
took and how fast prefill and decode ran. The temp folder is removed at the end.

Options:
  --prompt <text>      how the story starts (default "Once upon a time")
  --max-tokens <n>     story length in tokens at most (default 400; a story ends earlier
                       when the model emits BOS, llama2.c's end-of-story marker)
  --lut <bits>         LUT bits for the transformer and the LM head (default 6; none = fp16)
  --context <n>        context length (default 256; longer stories shift the window)
  --batch <n>          prefill batch (default 32)
  --temperature, --top-k, --top-p, --min-p, --repetition-penalty, --seed, --stop
                       sampling, as for 'anemll run' (default greedy)
  --keep <dir>         convert into <dir> and keep it, instead of a temp folder`

const DEFAULTS = { prompt: 'Once upon a time', maxTokens: 400, lut: '6', context: 256, batch: 32 }

export const demoCommand: Command = {
  name: 'demo',
  summary: 'convert the bundled stories260K model and tell a story (offline, any machine)',
  help: HELP,
  async run(argv) {
    const { values: v, positionals } = parseFlags('demo', {
      args: argv,
      options: {
        prompt: { type: 'string', default: DEFAULTS.prompt },
        lut: { type: 'string', default: DEFAULTS.lut },
        context: { type: 'string' },
        batch: { type: 'string' },
        keep: { type: 'string' },
        ...GENERATION_FLAGS,
      },
      allowPositionals: true,
    })
    if (positionals.length)
      throw new UsageError(`unexpected argument '${positionals[0]}'. See 'anemll demo --help'.`)
    const gen = generationOptions(v)
    const context = intFlag('context', v.context, 1) ?? DEFAULTS.context
    const batch = intFlag('batch', v.batch, 1) ?? DEFAULTS.batch
    if (context % batch)
      throw new UsageError(`--context ${context} must be a multiple of --batch ${batch}`)
    const lut = parseLutSpec(v.lut, '--lut')
    if (!existsSync(join(STORIES_DIR, 'model.safetensors')))
      throw new UsageError(`the bundled model is missing from ${STORIES_DIR}; reinstall anemll`)
    const err = (t: string) => process.stderr.write(t)
    const out = v.keep ?? mkdtempSync(join(tmpdir(), 'anemll-demo-'))
    const cleanup = () => v.keep || rmSync(out, { recursive: true, force: true })
    // Ctrl-C while converting or loading: leave no temp folder behind.
    const onSigint = () => {
      cleanup()
      process.exit(130)
    }
    process.on('SIGINT', onSigint)
    try {
      err(
        `Converting stories260K (${lut ? `LUT${lut.bits}` : 'fp16'}, context ${context}, batch ${batch}) into ${out}\n`,
      )
      const conv = await convert(
        convertOptions(STORIES_DIR, out, {
          context,
          batch,
          lut2: lut,
          lut3: lut,
          chunks: 1,
          compile: 'never',
          commandLine: `anemll demo ${argv.join(' ')}`,
        }),
        { step: (n, title) => err(`  [${n}] ${title}\n`) },
        palettizer(0),
      )
      const t = performance.now()
      const model = await openModel(out)
      const loadSeconds = (performance.now() - t) / 1000
      process.off('SIGINT', onSigint) // from here Ctrl-C ends the story instead
      err('\n')
      process.stdout.write(v.prompt)
      const abort = new AbortController()
      const stopStory = () => abort.abort()
      process.on('SIGINT', stopStory)
      const r = await streamTo(
        (text) => process.stdout.write(text),
        model.generate(v.prompt, {
          ...gen,
          maxTokens: gen.maxTokens ?? DEFAULTS.maxTokens,
          template: false, // a story ends at BOS, one of the model's stop ids
          signal: abort.signal,
        }),
      ).finally(() => process.off('SIGINT', stopStory))
      process.stdout.write('\n\n')
      const s = r!.stats
      err(
        [
          `conversion: ${formatDuration(conv.seconds)} (${conv.parts.map((p) => p.file).join(', ')})`,
          `load + warm-up: ${formatDuration(loadSeconds)} (kernels: ${kernelInfo()})`,
          `prefill: ${s.prefillTokens} tokens at ${s.prefillTokensPerSecond.toFixed(1)} tok/s, time to first token ${s.ttftMs.toFixed(0)} ms`,
          `decode: ${s.generatedTokens} tokens at ${s.decodeTokensPerSecond.toFixed(1)} tok/s`,
          statsLine(s),
          '',
        ].join('\n'),
      )
      return 0
    } finally {
      process.off('SIGINT', onSigint)
      cleanup()
    }
  },
}
