// bench/generate/lut: what LUT quantization costs in fidelity. A model converted at fp16 and with
// LUT6 and LUT4 (FFN chunks and LM head, groups of 8 channels; embeddings fp16 as ANEMLL's
// default), each fed the same fixed text token by token; prints KL(fp16 ‖ LUT) and top-1
// agreement with fp16 at every position. The CI bounds live in test/fidelity/stories260k.test.ts.
// Measured (2-core machine): SmolLM2-135M LUT6 top-1 84/94, KL mean 3.2e-2; LUT4 top-1 49/94,
// KL mean 1.07 (its 30 layers of 576 channels take 4-bit palettization badly: per-weight SQNR
// ~19 dB); stories260K LUT6 245/266, KL 5.3e-3; LUT4 207/266, KL 0.13.
//
// Usage: npx tsx bench/generate/lut.ts [--model path|gguf]   (default: the SmolLM2 GGUF fixture)
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js'
import { loadTokenizer } from '../../src/tokenizer/load.js'
import { requireFixture, smollm2Gguf } from '../../test/fixtures/paths.js'
import { agreement, describe } from '../../test/fidelity/metrics.js'
import { convertForTest } from '../../test/fidelity/parts.js'
import { teacherForcedLogits } from '../../test/fidelity/teacher.js'

// Two independent passages, one per worker thread.
const PASSAGES = [
  'The water cycle describes how water moves between the oceans, the air and the land. The sun ' +
    'warms the surface of the sea, and water evaporates into the air as vapour. As the vapour ' +
    'rises it cools and condenses into tiny droplets that form clouds.',
  'Learning a new language takes patience. Start with the most common words, listen to native ' +
    'speakers every day, and do not be afraid of making mistakes. Reading simple books and ' +
    'talking with friends will help you remember what you learn.',
]

const { values } = parseArgs({ options: { model: { type: 'string' } } })
const model = values.model ?? requireFixture(smollm2Gguf(), 'SmolLM2 GGUF')
const tok = await loadTokenizer((await openCheckpoint(model)).tokenizerSource)
const jobs = PASSAGES.map((p) => {
  const ids = tok.encode(p)
  return { prompt: ids.slice(0, 1), forced: ids.slice(1) }
})
const longest = Math.max(...jobs.map((j) => j.forced.length + 1))
const context = Math.ceil(longest / 64) * 64
console.log(
  `${model}: ${jobs.map((j) => j.forced.length).join(' + ')} positions, context ${context}`,
)

const tmp = mkdtempSync(join(tmpdir(), 'anemll-bench-lut-'))
try {
  const run = async (bits?: number) => {
    const t0 = performance.now()
    const lut = bits ? { bits, groupSize: 8 } : undefined
    const dir = join(tmp, bits ? `lut${bits}` : 'fp16')
    await convertForTest(model, dir, { context, batch: 64, lut2: lut, lut3: lut })
    const t1 = performance.now()
    const logits = (await teacherForcedLogits(dir, jobs)).flat()
    const t2 = performance.now()
    console.log(
      `${bits ? `LUT${bits}` : 'fp16'}: converted in ${((t1 - t0) / 1000).toFixed(1)} s, ` +
        `${logits.length} positions in ${((t2 - t1) / 1000).toFixed(1)} s`,
    )
    return logits
  }
  const base = await run()
  for (const bits of [6, 4])
    console.log(describe(`LUT${bits} vs fp16`, agreement(base, await run(bits))))
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
