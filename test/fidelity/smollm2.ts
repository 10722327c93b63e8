// SmolLM2-135M-Instruct converted at fp16 from the Q4_1 GGUF fixture, run by our executor, against
// two outside references on the same GGUF: transformers in float32 (goldens from
// test/fixtures/hf-goldens/make_smollm2_goldens.py), the deterministic one, and llama.cpp
// (node-llama-cpp's prebuilt binary), whose kernels — and with them its last bits and its choices
// at near-ties — depend on the CPU it runs on. Both sides are teacher-forced on transformers'
// greedy tokens: at every position where transformers' top-2 margin is wider than a side's
// measured deviation allows to flip, that side must pick transformers' token; llama.cpp is also
// held to tolerances (top-1 agreement, cosine, KL) against ours, never to exact greedy equality.
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
import { llamaCppForced, llamaCppUnavailable } from './llamacpp.js'
import { agreement, decisiveMismatches, describe, greedyPrefix, nearTieMargin } from './metrics.js'
import { convertForTest } from './parts.js'
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

// Teacher-forced over the 5 prompts × 32 tokens on one AVX2 machine: our logits within 0.074 of
// float32 at its 8 best tokens, llama.cpp's within 0.72 (it rounds activations to 8 bits); top-1
// 160/160, min cosine 0.992 and mean KL 2.9e-3 between ours and llama.cpp's. Our bound is tight
// (our kernels are deterministic); llama.cpp's bounds leave room for other CPUs' kernels while
// still failing on a wrong model, tokenizer or template (cosine ~0.5, KL ~1 and more).
const MAX_VS_FLOAT32 = 0.15
const LLAMA_MAX_VS_FLOAT32 = 2
const LLAMA_MIN_TOP1 = 0.9
const LLAMA_MIN_COSINE = 0.98
const LLAMA_MAX_MEAN_KL = 0.02

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
    `SmolLM2-135M fp16 vs transformers ${golden.transformers} and llama.cpp, teacher-forced: ${TOKENS} tokens`,
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
        // Both sides force transformers' tokens; ours on worker threads while llama.cpp runs.
        const jobs = picked.map((g, i) => ({
          text: prompts[i].text,
          ids: prompts[i].ids,
          prompt: prompts[i].ids,
          forced: g.greedy.slice(0, TOKENS),
        }))
        const oursP = teacherForcedLogits(out, jobs)
        const vocab = (await openCheckpoint(path)).config.vocab_size
        const llama = await llamaCppForced(path, jobs, vocab)
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
          const forced = jobs[i].forced
          const gaps = g.top2_gap.slice(0, TOKENS)
          const oursErr = Math.max(...ours[i].map((l, j) => vsFloat32(g, j, l)))
          const llamaErr = Math.max(...llama[i].logits.map((l, j) => vsFloat32(g, j, l)))
          const oursMargin = nearTieMargin(oursErr)
          const llamaMargin = nearTieMargin(llamaErr)
          const oursFlips = decisiveMismatches(forced, gaps, ours[i], oursMargin)
          const llamaFlips = decisiveMismatches(forced, gaps, llama[i].logits, llamaMargin)
          const a = agreement(llama[i].logits, ours[i])
          console.log(
            `${q}: greedy equal to transformers for ${greedyPrefix(forced, ours[i])} tokens ` +
              `(llama.cpp ${greedyPrefix(forced, llama[i].logits)}); max |Δ| vs float32 (8 best) ` +
              `ours ${oursErr.toFixed(4)}, llama.cpp ${llamaErr.toFixed(4)}; ` +
              `near-ties below ${oursMargin.toFixed(3)} / ${llamaMargin.toFixed(3)}: ` +
              `${gaps.filter((x) => x < oursMargin).length} / ${gaps.filter((x) => x < llamaMargin).length}; ` +
              describe('vs llama.cpp', a),
          )
          assert.ok(oursErr <= MAX_VS_FLOAT32, `${q}: our max |Δ| vs float32 ${oursErr}`)
          assert.deepEqual(
            oursFlips,
            [],
            `${q}: our top-1 is transformers' token wherever decisive`,
          )
          assert.ok(llamaErr <= LLAMA_MAX_VS_FLOAT32, `${q}: llama.cpp max |Δ| ${llamaErr}`)
          assert.deepEqual(
            llamaFlips,
            [],
            `${q}: llama.cpp's top-1 is transformers' wherever decisive`,
          )
          refs.push(...llama[i].logits)
          tests.push(...ours[i])
        })
        const all = agreement(refs, tests)
        console.log(describe(`SmolLM2 fp16 vs llama.cpp Q4_1 (${names})`, all))
        assert.ok(all.top1 >= LLAMA_MIN_TOP1, `top-1 agreement ${all.top1} >= ${LLAMA_MIN_TOP1}`)
        assert.ok(all.minCosine >= LLAMA_MIN_COSINE, `min cosine ${all.minCosine}`)
        assert.ok(all.meanKl <= LLAMA_MAX_MEAN_KL, `mean KL ${all.meanKl}`)
      } finally {
        rmSync(tmp, { recursive: true, force: true })
      }
    },
  )
}
