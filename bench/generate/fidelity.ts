// bench/generate/fidelity: SmolLM2-135M-Instruct converted at fp16 (optionally LUT) from the Q4_1
// GGUF fixture against llama.cpp on the same GGUF, over many positions: llama.cpp decodes each
// chat prompt greedily, our converted parts are forced along llama.cpp's own tokens, and every
// position is compared (top-1 agreement, logit cosine, KL). The CI tests (test/fidelity/
// smollm2-*.test.ts) check 32 tokens per prompt; this prints the longer figure.
//
// Usage: npx tsx bench/generate/fidelity.ts [--tokens 52] [--lut 4]
// Needs scripts/fixtures.sh (the GGUF) and node-llama-cpp (npm install --no-save node-llama-cpp).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js'
import { ChatTemplate } from '../../src/tokenizer/chat-template.js'
import { loadTokenizer } from '../../src/tokenizer/load.js'
import { requireFixture, smollm2Gguf } from '../../test/fixtures/paths.js'
import { llamaCppGreedy } from '../../test/fidelity/llamacpp.js'
import { agreement, describe } from '../../test/fidelity/metrics.js'
import { argmax, convertForTest } from '../../test/fidelity/parts.js'
import { teacherForcedLogits } from '../../test/fidelity/teacher.js'

const { values } = parseArgs({
  options: { tokens: { type: 'string', default: '52' }, lut: { type: 'string', default: '' } },
})
const steps = Number(values.tokens)
const lut = values.lut ? { bits: Number(values.lut), groupSize: 8 } : undefined
const gguf = requireFixture(smollm2Gguf(), 'SmolLM2 GGUF')
const golden = JSON.parse(
  readFileSync(
    join(import.meta.dirname, '../../test/fixtures/hf-goldens/smollm2-gguf.json'),
    'utf8',
  ),
) as { prompts: { question: string }[] }

const ckpt = await openCheckpoint(gguf)
const tok = await loadTokenizer(ckpt.tokenizerSource)
const chat = ChatTemplate.fromTokenizer(tok)!
const prompts = golden.prompts.map((g) => {
  const text = chat.render([{ role: 'user', content: g.question }])
  return { text, ids: tok.encode(text, { addSpecialTokens: false }) }
})
const longest = Math.max(...prompts.map((p) => p.ids.length)) + steps
const context = Math.ceil(longest / 64) * 64

const tmp = mkdtempSync(join(tmpdir(), 'anemll-bench-fidelity-'))
try {
  let t0 = performance.now()
  const out = await convertForTest(gguf, join(tmp, 'model'), {
    context,
    batch: 64,
    lut2: lut,
    lut3: lut,
  })
  console.log(`converted (${lut ? `LUT${lut.bits}` : 'fp16'}, context ${context}) in ${secs(t0)}`)
  t0 = performance.now()
  const llama = await llamaCppGreedy(gguf, prompts, steps, ckpt.config.vocab_size)
  console.log(`llama.cpp: ${prompts.length} × ${steps} tokens in ${secs(t0)}`)
  t0 = performance.now()
  const ours = await teacherForcedLogits(
    out,
    prompts.map((p, i) => ({ prompt: p.ids, forced: llama[i].tokens })),
  )
  console.log(`ours (forced along llama.cpp's tokens): ${secs(t0)}`)
  const refs: Float32Array[] = []
  const tests: Float32Array[] = []
  prompts.forEach((_, i) => {
    const a = agreement(llama[i].logits, ours[i])
    const first = ours[i].findIndex((l, j) => argmax(l) !== llama[i].tokens[j])
    const greedy = first < 0 ? steps : first
    console.log(
      `${describe(JSON.stringify(golden.prompts[i].question), a)}; greedy equal ${greedy}`,
    )
    refs.push(...llama[i].logits)
    tests.push(...ours[i])
  })
  console.log(describe('all positions', agreement(refs, tests)))
} finally {
  rmSync(tmp, { recursive: true, force: true })
}

function secs(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)} s`
}
