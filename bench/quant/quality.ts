// LUT quality side by side: one model converted at fp16 (the reference), with data-free k-means
// and with calibration (--calibrate), at the default recipe (FFN LUT4, head LUT6); each LUT model
// scored by `anemll eval`'s measures on the held-out eval text. Figures for docs/quantization.md.
//
//   npx tsx bench/quant/quality.ts [--model PATH] [--context N] [--tokens N] [--calibrate FILE]
//   (default: the SmolLM2-135M-Instruct Q4_1 GGUF fixture, context 512, 1024 eval tokens)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { convert, convertOptions, type ConvertOptions } from '../../src/convert/pipeline.js'
import { evaluate } from '../../src/eval/evaluate.js'
import { loadModel } from '../../src/generate/index.js'
import { closePool, palettizer, parseLutSpec } from '../../src/quant/index.js'
import { requireFixture, smollm2Gguf } from '../../test/fixtures/paths.js'

const { values: v } = parseArgs({
  options: {
    model: { type: 'string' },
    context: { type: 'string', default: '512' },
    tokens: { type: 'string', default: '1024' },
    calibrate: { type: 'string' },
  },
})
const model = v.model ?? requireFixture(smollm2Gguf(), 'SmolLM2-135M-Instruct.Q4_1.gguf')
const context = Number(v.context)
const tmp = mkdtempSync(join(tmpdir(), 'anemll-quality-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))
const lut = { lut2: parseLutSpec('4', '--lut2'), lut3: parseLutSpec('6', '--lut3') }

async function build(name: string, extra: Partial<ConvertOptions>): Promise<[string, number]> {
  const out = join(tmp, name)
  const t = performance.now()
  await convert(
    convertOptions(model, out, {
      context,
      batch: Math.min(64, context),
      compile: 'never',
      ...extra,
    }),
    { step: () => {} },
    palettizer(0),
  )
  return [out, (performance.now() - t) / 1000]
}

const [fp16] = await build('fp16', {})
const rows: [string, Partial<ConvertOptions>][] = [
  ['data-free k-means', lut],
  ['calibrated (E[x²]-weighted)', { ...lut, calibrate: v.calibrate ?? true }],
]
const text = readFileSync(new URL('../../assets/eval/bryant-stories.txt', import.meta.url), 'utf8')
const reference = await loadModel(fp16)
console.log(`${model}, context ${context}, ${v.tokens} tokens of assets/eval/bryant-stories.txt`)
console.log('method                       | KL mean | KL max | top-1  | ppl / fp16 ppl | convert')
for (const [name, extra] of rows) {
  const [out, seconds] = await build(name.replace(/\W+/g, '-'), extra)
  const r = await evaluate(await loadModel(out), {
    text,
    reference,
    maxTextTokens: Number(v.tokens),
  })
  const a = r.agreement!
  const p = r.text!
  console.log(
    `${name.padEnd(28)} | ${a.meanKl.toFixed(3).padStart(7)} | ${a.maxKl.toFixed(2).padStart(6)} | ` +
      `${(100 * a.top1).toFixed(1).padStart(5)}% | ${p.perplexity.toFixed(2)} / ${p.referencePerplexity!.toFixed(2)} = ` +
      `${(p.perplexity / p.referencePerplexity!).toFixed(3)} | ${seconds.toFixed(0)} s`,
  )
}
await closePool()
