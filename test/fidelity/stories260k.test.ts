// stories260K converted and run by our executor, against the shared reference data (a float64
// NumPy re-implementation of llama2.c's run.c, cross-checked with the HF forward): logits and the
// greedy continuation at fp16; LUT6 and LUT4 against the fp16 conversion on a fixed text.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Tokenizer } from '../../src/tokenizer/tokenizer.js'
import { agreement, describe, maxAbsDiff, type Agreement } from './metrics.js'
import {
  argmax,
  convertForTest,
  greedy,
  logitsByInfer,
  logitsByPrefill,
  openParts,
  type PartsModel,
} from './parts.js'

const STORIES = join(import.meta.dirname, '../../../shared/models/stories260K')
const tmp = mkdtempSync(join(tmpdir(), 'anemll-fidelity-stories-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

interface Reference {
  prompt: { ids: number[]; next_token_logits: number[]; greedy_continuation_20: number[] }
  bos_only: { ids: number[]; next_token_logits: number[] }
  check_sequence: { ids: number[]; last_position_logits_first8: number[] }
  greedy_from_bos: { tokens: number[] }
}
const ref = JSON.parse(readFileSync(join(STORIES, 'reference_greedy.json'), 'utf8')) as Reference

// Measured max |Δ| against the float64 reference: 0.018 (prompt), 0.009 (BOS), 0.012 (check
// sequence) on logits of magnitude ~16; the bound leaves room for fp16 rounding order changes.
const LOGIT_TOLERANCE = 0.05
const OPTIONS = { context: 128, batch: 16 }

let fp16: PartsModel | undefined
async function fp16Model(): Promise<PartsModel> {
  fp16 ??= openParts(await convertForTest(STORIES, join(tmp, 'fp16'), OPTIONS))
  return fp16
}

test('stories260K fp16: next-token logits match the reference', async () => {
  const m = await fp16Model()
  const cases = [
    ['prompt', ref.prompt.ids, ref.prompt.next_token_logits],
    ['BOS only', ref.bos_only.ids, ref.bos_only.next_token_logits],
    [
      'check sequence (first 8)',
      ref.check_sequence.ids,
      ref.check_sequence.last_position_logits_first8,
    ],
  ] as const
  for (const [label, ids, want] of cases) {
    const got = logitsByInfer(m, ids).at(-1)!.subarray(0, want.length)
    const d = maxAbsDiff(got, want)
    console.log(`stories260K ${label}: max |Δ| ${d.toFixed(4)} over ${want.length} logits`)
    assert.ok(d <= LOGIT_TOLERANCE, `${label}: max |Δ| ${d}`)
    assert.equal(argmax(got), argmax(want), `${label}: argmax`)
  }
  // The prompt again, filled by `prefill` and finished by `infer`.
  const viaPrefill = logitsByPrefill(m, ref.prompt.ids).at(-1)!
  const d = maxAbsDiff(viaPrefill, ref.prompt.next_token_logits)
  console.log(`stories260K prompt via prefill: max |Δ| ${d.toFixed(4)}`)
  assert.ok(d <= LOGIT_TOLERANCE, `prompt via prefill: max |Δ| ${d}`)
})

test('stories260K fp16: greedy continuations equal the reference tokens', async () => {
  const m = await fp16Model()
  const p = ref.prompt.ids
  assert.deepEqual(
    [...p, ...greedy(m, p, 20)],
    ref.prompt.greedy_continuation_20,
    'prompt + 20 greedy tokens',
  )
  const fromBos = ref.greedy_from_bos.tokens
  assert.deepEqual([1, ...greedy(m, [1], fromBos.length - 1)], fromBos, 'greedy from BOS')
})

// A TinyStories-like text the model did not generate itself (95 tokens with BOS).
const TEXT =
  'One day, a little boy named Tom went to the park with his mom. He saw a big tree and a small ' +
  'dog. The dog was sad because it lost its ball. Tom helped the dog look for the ball under ' +
  'the tree. They found it, and the dog was very happy.'

// Bounds from measurements (LUT on the chunks and LM head, groups of 8 channels; embeddings fp16
// as ANEMLL's default): LUT6 top-1 94/95, KL mean 3.5e-3; LUT4 top-1 81/95, KL mean 7.4e-2.
// A 64-wide model has few weights per LUT group, so LUT4 costs it more than a real model.
const LUT_BOUNDS: Record<number, { minTop1: number; maxMeanKl: number }> = {
  6: { minTop1: 0.95, maxMeanKl: 1e-2 },
  4: { minTop1: 0.75, maxMeanKl: 0.15 },
}

test('stories260K LUT6 and LUT4: KL divergence and top-1 agreement with fp16', async () => {
  const tok = await Tokenizer.load(STORIES)
  const ids = tok.encode(TEXT)
  assert.ok(ids.length > 64 && ids.length <= OPTIONS.context, `${ids.length} tokens`)
  const base = logitsByInfer(await fp16Model(), ids)
  const results: Record<number, Agreement> = {}
  for (const bits of [6, 4]) {
    const lut = { bits, groupSize: 8 }
    const out = await convertForTest(STORIES, join(tmp, `lut${bits}`), {
      ...OPTIONS,
      lut2: lut,
      lut3: lut,
    })
    const a = agreement(base, logitsByInfer(openParts(out), ids))
    console.log(describe(`stories260K LUT${bits} vs fp16`, a))
    const b = LUT_BOUNDS[bits]
    assert.ok(a.top1 >= b.minTop1, `LUT${bits} top-1 ${a.top1} >= ${b.minTop1}`)
    assert.ok(a.meanKl <= b.maxMeanKl, `LUT${bits} mean KL ${a.meanKl} <= ${b.maxMeanKl}`)
    assert.ok(a.meanKl > 0, `LUT${bits} changed the weights`)
    results[bits] = a
  }
  assert.ok(results[4].meanKl > results[6].meanKl, 'fewer bits, larger divergence')
})
