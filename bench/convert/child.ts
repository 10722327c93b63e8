// Runs one conversion in this process and prints a JSON line with wall time and peak RSS, so the
// benchmark can measure each conversion in a fresh process.
import { convert, convertOptions } from '../../src/convert/pipeline.js'
import { palettizer, parseLutSpec } from '../../src/quant/index.js'

const [model, output, lut2, lut3, chunks, context] = process.argv.slice(2)
const t0 = performance.now()
const r = await convert(
  convertOptions(model, output, {
    context: Number(context),
    lut2: parseLutSpec(lut2, '--lut2'),
    lut3: parseLutSpec(lut3, '--lut3'),
    chunks: chunks === 'auto' ? 'auto' : Number(chunks),
    compile: 'never',
  }),
  { step: () => {} },
  palettizer(0),
)
const largest = Math.max(...r.parts.map((p) => p.bytes))
console.log(
  JSON.stringify({
    seconds: (performance.now() - t0) / 1000,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    largestPartBytes: largest,
    parts: r.parts.map((p) => ({ file: p.file, bytes: p.bytes, seconds: p.seconds })),
  }),
)
process.exit(0)
