// SmolLM2-135M-Instruct converted at fp16 from the Q4_1 GGUF fixture, run by our executor, against
// two outside references on the same GGUF: llama.cpp (node-llama-cpp's prebuilt binary) and
// transformers in float32 (goldens from test/fixtures/hf-goldens/make_smollm2_goldens.py).
// Chat prompts rendered with the model's own template: the first 32 greedy tokens must be equal;
// top-1 agreement and logit cosine with llama.cpp, and the distance of our logits and llama.cpp's
// from the float32 ones, are printed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js'
import { ChatTemplate } from '../../src/tokenizer/chat-template.js'
import { loadTokenizer } from '../../src/tokenizer/load.js'
import { noFixture, smollm2Gguf } from '../fixtures/paths.js'
import { llamaCppGreedy, llamaCppUnavailable } from './llamacpp.js'
import { agreement, describe } from './metrics.js'
import { argmax, convertForTest } from './parts.js'
import { teacherForcedLogits } from './teacher.js'

const GOLDEN = join(import.meta.dirname, '../fixtures/hf-goldens/smollm2-gguf.json')
/** Greedy tokens that must agree. */
const TOKENS = 32

interface GoldenPrompt {
  question: string
  ids: number[]
  greedy: number[]
  top2_gap: number[]
  top_ids: number[][]
  top_logits: number[][]
}
const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as {
  gguf_sha256: string
  transformers: string
  prompts: GoldenPrompt[]
}

async function renderPrompts(path: string, picked: GoldenPrompt[]) {
  const ckpt = await openCheckpoint(path)
  const tok = await loadTokenizer(ckpt.tokenizerSource)
  const chat = ChatTemplate.fromTokenizer(tok)
  assert.ok(chat, 'the GGUF has a chat template')
  return picked.map((g) => {
    const text = chat.render([{ role: 'user', content: g.question }])
    return { text, ids: tok.encode(text, { addSpecialTokens: false }) }
  })
}

/** max |Δ| between `logits` and the float32 reference at its 8 best tokens. */
function vsFloat32(g: GoldenPrompt, i: number, logits: Float32Array): number {
  return Math.max(...g.top_ids[i].map((t, k) => Math.abs(logits[t] - g.top_logits[i][k])))
}

// Measured over the 5 prompts × 32 tokens: our logits within 0.074 of float32 at its 8 best
// tokens, llama.cpp's within 0.72 (it rounds activations to 8 bits); min cosine between ours and
// llama.cpp's 0.992, mean KL 2.9e-3.
const MAX_VS_FLOAT32 = 0.15
const MIN_COSINE = 0.985

/** Registers the SmolLM2 fidelity tests for the golden prompts at `indices`. */
export function smollm2Tests(indices: number[]): void {
  const picked = indices.map((i) => golden.prompts[i])
  const gguf = smollm2Gguf()
  const names = `prompts ${indices.map((i) => i + 1).join(', ')}`

  test(
    `SmolLM2 ${names}: our template and tokenizer give transformers' ids`,
    { skip: noFixture(gguf) },
    async () => {
      const sha = createHash('sha256').update(readFileSync(gguf!)).digest('hex')
      assert.equal(sha, golden.gguf_sha256, 'the goldens were made from this GGUF')
      const prompts = await renderPrompts(gguf!, picked)
      prompts.forEach((p, i) => assert.deepEqual(p.ids, picked[i].ids, picked[i].question))
    },
  )

  test(
    `SmolLM2-135M fp16 vs llama.cpp and transformers ${golden.transformers}: ${TOKENS} greedy tokens`,
    { skip: noFixture(gguf), timeout: 15 * 60_000 },
    async (t) => {
      const why = await llamaCppUnavailable()
      // Locally a missing binary skips; under CI it must load (the test then fails below).
      if (why && !process.env.CI) return t.skip(why)
      const path = gguf!
      const prompts = await renderPrompts(path, picked)
      const tmp = mkdtempSync(join(tmpdir(), 'anemll-fidelity-smollm2-'))
      try {
        const out = await convertForTest(path, join(tmp, 'fp16'), { context: 96, batch: 48 })
        // Our side forces transformers' tokens (worker threads) while llama.cpp decodes.
        const jobs = picked.map((g, i) => ({
          prompt: prompts[i].ids,
          forced: g.greedy.slice(0, TOKENS),
        }))
        const oursP = teacherForcedLogits(out, jobs)
        const vocab = (await openCheckpoint(path)).config.vocab_size
        const llama = await llamaCppGreedy(path, prompts, TOKENS, vocab)
        const ours = await oursP
        const refs: Float32Array[] = []
        const tests: Float32Array[] = []
        picked.forEach((g, i) => {
          const q = JSON.stringify(g.question)
          assert.deepEqual(
            llama[i].promptTokens,
            prompts[i].ids,
            `${q}: llama.cpp tokenizes it alike`,
          )
          const mine = ours[i].map(argmax)
          const agreeFor = (ref: readonly number[]) => {
            const k = ref.findIndex((tok, j) => j < TOKENS && tok !== mine[j])
            return k < 0 ? TOKENS : k
          }
          // Forced on transformers' tokens, our argmaxes are our free-running greedy tokens up to
          // the first difference: equal for 32 means our greedy continuation is those 32 tokens.
          const vsHf = agreeFor(g.greedy)
          const vsLlama = agreeFor(llama[i].tokens)
          const a = agreement(llama[i].logits.slice(0, vsLlama), ours[i].slice(0, vsLlama))
          const oursErr = Math.max(...ours[i].map((l, j) => vsFloat32(g, j, l)))
          const llamaErr = Math.max(
            ...llama[i].logits.slice(0, vsHf).map((l, j) => vsFloat32(g, j, l)),
          )
          console.log(
            `${q}: greedy equal to transformers for ${vsHf}, to llama.cpp for ${vsLlama} tokens; ` +
              `max |Δ| vs float32 (8 best) ours ${oursErr.toFixed(4)}, llama.cpp ${llamaErr.toFixed(4)}; ` +
              describe('vs llama.cpp', a),
          )
          assert.equal(vsHf, TOKENS, `${q}: first ${TOKENS} greedy tokens equal transformers'`)
          assert.equal(vsLlama, TOKENS, `${q}: first ${TOKENS} greedy tokens equal llama.cpp's`)
          assert.ok(oursErr <= MAX_VS_FLOAT32, `${q}: max |Δ| vs float32 ${oursErr}`)
          refs.push(...llama[i].logits.slice(0, TOKENS))
          tests.push(...ours[i])
        })
        const all = agreement(refs, tests)
        console.log(describe(`SmolLM2 fp16 vs llama.cpp Q4_1 (${names})`, all))
        assert.ok(all.minCosine >= MIN_COSINE, `logit cosine ${all.minCosine} >= ${MIN_COSINE}`)
      } finally {
        rmSync(tmp, { recursive: true, force: true })
      }
    },
  )
}
