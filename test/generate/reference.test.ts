// stories260K, fp16 conversion, through the whole engine (meta.yaml, tokenizer, parts, cache,
// sampling) against the shared reference data: a float64 NumPy port of llama2.c's run.c on the
// original weights (shared/models/stories260K/reference_greedy.json).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateWithLogits, maxAbsDiff, reference, storiesModel } from './helpers.js'

const ref = reference()
// fp16 weights and activations against float64 math on logits of magnitude ~16.
const LOGIT_TOLERANCE = 0.05

test('greedy from BOS: the 40 reference tokens and text', async () => {
  const model = await storiesModel()
  const r = await model.complete({ tokens: [1] }, { maxTokens: 40 })
  assert.deepEqual([1, ...r.tokens], ref.greedy_from_bos.tokens)
  assert.equal(r.text, ref.greedy_from_bos.text)
  // the same from an empty raw prompt (BOS alone)
  const raw = await model.complete('', { template: false, maxTokens: 40 })
  assert.deepEqual(raw.tokens, r.tokens)
  assert.deepEqual(raw.prompt, [1])
})

test('prompt continuation: 20 reference tokens, its text, and the next-token logits', async () => {
  const model = await storiesModel()
  const p = ref.prompt
  const { tokens, logits } = await generateWithLogits(model, { tokens: p.ids }, { maxTokens: 20 })
  assert.deepEqual([...p.ids, ...tokens], p.greedy_continuation_20)
  const d = maxAbsDiff(logits[0], p.next_token_logits)
  console.log(`stories260K engine, prompt next-token logits: max |Δ| ${d.toFixed(4)} (512 logits)`)
  assert.ok(d <= LOGIT_TOLERANCE, `max |Δ| ${d}`)
  // the prompt as text, tokenized by the engine; the delta keeps its leading space
  const r = await model.complete('Once upon a time, there was a little', {
    template: false,
    maxTokens: 20,
  })
  assert.deepEqual(r.prompt, p.ids)
  assert.equal(r.text, p.greedy_continuation_text)
})

test('BOS-only and check-sequence logits (the latter filled through a prefill batch)', async () => {
  const model = await storiesModel()
  const bos = await generateWithLogits(model, { tokens: ref.bos_only.ids }, { maxTokens: 1 })
  const d1 = maxAbsDiff(bos.logits[0], ref.bos_only.next_token_logits)
  const cs = ref.check_sequence
  assert.ok(cs.ids.length > model.meta.batch, 'the check sequence crosses a batch')
  const chk = await generateWithLogits(model, { tokens: cs.ids }, { maxTokens: 1 })
  const d2 = maxAbsDiff(chk.logits[0].subarray(0, 8), cs.last_position_logits_first8)
  console.log(`stories260K engine: BOS max |Δ| ${d1.toFixed(4)}, check sequence ${d2.toFixed(4)}`)
  assert.ok(d1 <= LOGIT_TOLERANCE && d2 <= LOGIT_TOLERANCE, `${d1}, ${d2}`)
})
