import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { evaluate, type EvalReport } from '../../eval/evaluate.js'
import { fp16Reference, readReferenceLogits, referenceKind } from '../../eval/reference.js'
import type { Model } from '../../generate/engine.js'
import { UsageError } from '../../util/errors.js'
import { Progress } from '../../util/progress.js'
import { intFlag, parseFlags, type Command } from '../command.js'
import { openModel } from './run.js'

const ASSETS = fileURLToPath(new URL('../../../assets/eval/', import.meta.url))
const DEFAULT_TEXT = `${ASSETS}bryant-stories.txt`
const DEFAULT_PROMPTS = `${ASSETS}prompts.txt`

const HELP = `Usage: anemll eval <converted folder | meta.yaml> [options]

Measures what a conversion costs: the perplexity of a text under the model, and, against a
reference, how far its next-token distributions are from the reference's at every position of
that text (KL(reference ‖ model), mean and max; top-1 agreement; logit cosine) and how many
greedy tokens stay equal on a set of prompts. Use it to see what LUT quantization does to a
model: evaluate the LUT conversion with the fp16 conversion as reference.

The text is read in windows of the model's context (each starts fresh, with BOS when the
tokenizer adds one) and every token after the first of a window is scored once. Each scored
token costs one decode step of each model.

Options:
  --reference <path | id>   what to compare with: a converted folder or meta.yaml; a logits
                            file (JSON: ids, logits .f32 file, shape; see docs/eval.md); or a
                            checkpoint (HF folder, .gguf, Hub id), converted at fp16 with the
                            model's context and batch once and cached
  --text <file>             text to score (default: ${DEFAULT_TEXT.split('/').slice(-3).join('/')},
                            public-domain stories)
  --max-text-tokens <n>     score at most the first n tokens of the text (0: no text)
  --prompts <file>          prompts for the greedy comparison, one per line (default: the
                            built-in set, when the reference is a model)
  --max-tokens <n>          greedy tokens per prompt (default 32)
  --json                    print the report as JSON on standard output
  --quiet                   no progress bar

Examples:
  anemll eval out/smollm2-lut4 --reference out/smollm2-fp16
  anemll eval out/smollm2-lut4 --reference HuggingFaceTB/SmolLM2-135M-Instruct --json
  anemll eval out/stories --text my.txt --max-text-tokens 2000`

function readText(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new UsageError(`--${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`)
  }
}

const f = (x: number, d = 4) => (Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(d) : x.toExponential(2))

/** The report as a few aligned lines. */
export function reportText(r: EvalReport): string {
  const rows: [string, string][] = [['model', r.model]]
  if (r.reference) rows.push(['reference', r.reference])
  if (r.text) {
    const t = r.text
    rows.push([
      'text',
      t.stride
        ? `${t.tokens} tokens in ${t.windows} window(s) of ${t.window} (stride ${t.stride}), ${t.scored} scored`
        : `${t.scored} positions of the reference's ids`,
    ])
    rows.push(['perplexity', f(t.perplexity, 3)])
    if (t.referencePerplexity !== undefined)
      rows.push([
        'reference perplexity',
        `${f(t.referencePerplexity, 3)} (model/reference ${f(t.perplexity / t.referencePerplexity, 3)})`,
      ])
  }
  if (r.agreement) {
    const a = r.agreement
    rows.push(['KL(ref ‖ model)', `mean ${f(a.meanKl)}, max ${f(a.maxKl)} (nats)`])
    rows.push(['top-1 agreement', `${(a.top1 * 100).toFixed(1)}% of ${a.positions}`])
    rows.push(['logit cosine', `mean ${a.meanCosine.toFixed(5)}, min ${a.minCosine.toFixed(5)}`])
  }
  if (r.greedy?.length) {
    const m = r.greedy.reduce((s, g) => s + g.matched, 0)
    const c = r.greedy.reduce((s, g) => s + g.compared, 0)
    rows.push(['greedy match', `${m}/${c} tokens over ${r.greedy.length} prompts`])
    for (const g of r.greedy) rows.push([`  ${g.matched}/${g.compared}`, JSON.stringify(g.prompt)])
  }
  const w = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'perplexity, KL and agreement of a conversion against a reference',
  help: HELP,
  async run(argv) {
    const { values: v, positionals } = parseFlags('eval', {
      args: argv,
      options: {
        reference: { type: 'string' },
        text: { type: 'string' },
        'max-text-tokens': { type: 'string' },
        prompts: { type: 'string' },
        'max-tokens': { type: 'string' },
        json: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
      },
      allowPositionals: true,
    })
    if (positionals.length !== 1)
      throw new UsageError(
        `${positionals.length ? 'one' : 'a'} converted folder is expected. See 'anemll eval --help'.`,
      )
    const maxTextTokens = intFlag('max-text-tokens', v['max-text-tokens'], 0)
    const maxTokens = intFlag('max-tokens', v['max-tokens'], 1)
    const err = (s: string) => void (v.quiet || process.stderr.write(s))
    const model = await openModel(positionals[0], false)

    let reference: Model | ReturnType<typeof readReferenceLogits> | undefined
    if (v.reference) {
      const spec = referenceKind(v.reference)
      if (spec.kind === 'logits') reference = readReferenceLogits(spec.path)
      else {
        let path = spec.kind === 'conversion' ? spec.path : ''
        if (spec.kind === 'checkpoint') {
          err(`Converting ${spec.spec} at fp16 as the reference (cached for later runs)\n`)
          path = await fp16Reference(
            spec.spec,
            { context: model.meta.context, batch: model.meta.batch },
            { step: (n, title) => err(`  [${n}] ${title}\n`) },
          )
        }
        reference = await openModel(path, false)
      }
    }
    const isModel = reference !== undefined && 'forcedLogits' in reference
    const text = maxTextTokens === 0 ? undefined : readText('text', v.text ?? DEFAULT_TEXT)
    const prompts =
      v.prompts !== undefined || isModel
        ? readText('prompts', v.prompts ?? DEFAULT_PROMPTS)
            .split('\n')
            .map((l) => l.trim())
            .filter(Boolean)
        : undefined

    const progress = new Progress({ label: 'eval', quiet: v.quiet || v.json })
    const report = await evaluate(model, {
      text,
      maxTextTokens,
      reference,
      prompts,
      maxTokens,
      onProgress: (done, total) => {
        progress.total = total
        progress.update(done)
      },
    })
    progress.finish()
    console.log(v.json ? JSON.stringify(report, null, 2) : reportText(report))
    return 0
  },
}
