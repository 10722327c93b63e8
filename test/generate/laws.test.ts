// KV-cache laws on stories260K through the engine: whatever path fills the cache (prefill
// batches, token by token, a resumed session, another chunking), the model must see the same
// thing. Each law compares two real paths; tolerances are fp16 rounding, and measured figures
// are printed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { KV_STATE } from '../../src/arch/parts.js'
import type { Model } from '../../src/generate/engine.js'
import type { HeadOutput } from '../../src/generate/head.js'
import {
  generateWithLogits,
  maxAbsDiff,
  reference,
  storiesModel,
  templatedModel,
  TEXT,
} from './helpers.js'

const ref = reference()
const TOL = 0.02 // logits of magnitude ~16 computed in fp16 along different paths

const logitsOf = (out: HeadOutput | undefined) => {
  assert.ok(out?.kind === 'logits')
  return out.logits
}

/** KV rows 0..n-1 of every layer and head: [2L, nKV, S, hd] sliced on S. */
function kvRows(model: Model, data: Float32Array, n: number): Float32Array {
  const shape = [2 * 5, 4, model.meta.context, 8]
  const out: number[] = []
  for (let a = 0; a < shape[0] * shape[1]; a++)
    for (let s = 0; s < n; s++)
      for (let d = 0; d < shape[3]; d++) out.push(data[(a * shape[2] + s) * shape[3] + d])
  return Float32Array.from(out)
}

test('a batch prefill equals the same ids fed one by one (logits and KV rows)', async () => {
  const batch = await storiesModel('fp16', { prefill: 'batch' })
  const single = await storiesModel('fp16', { prefill: 'single' })
  const ids = batch.tokenizer.encode(TEXT).slice(0, 2 * batch.meta.batch + 3) // 2 batches + 3
  const a = batch.newCache()
  const b = single.newCache()
  const ra = await a.fill(ids)
  const rb = await b.fill(ids)
  const dl = maxAbsDiff(logitsOf(ra.out), logitsOf(rb.out))
  const ka = a.state.get(KV_STATE).data as Float32Array
  const kb = b.state.get(KV_STATE).data as Float32Array
  const dk = maxAbsDiff(kvRows(batch, ka, ids.length), kvRows(single, kb, ids.length))
  console.log(
    `prefill vs token-by-token (${ids.length} ids): logits max |Δ| ${dl}, KV max |Δ| ${dk}`,
  )
  assert.ok(dl <= TOL, `logits ${dl}`)
  assert.ok(dk <= 0.01, `KV rows ${dk}`)
})

test('prefill + decode equals recomputing every step from scratch', async () => {
  const model = await storiesModel('fp16', { prefill: 'batch' })
  const single = await storiesModel('fp16', { prefill: 'single' })
  const prompt = model.tokenizer.encode(TEXT).slice(0, model.meta.batch + 2)
  const run = await generateWithLogits(model, { tokens: prompt }, { maxTokens: 8 })
  let worst = 0
  for (let k = 0; k < run.tokens.length; k++) {
    // a fresh cache fed prompt + the first k generated ids, token by token
    const fresh = await single.newCache().fill([...prompt, ...run.tokens.slice(0, k)])
    const l = logitsOf(fresh.out)
    worst = Math.max(worst, maxAbsDiff(run.logits[k], l))
    assert.equal(run.tokens[k], l.indexOf(Math.max(...l)), `step ${k}: same greedy token`)
  }
  console.log(`decode vs full recomputation (8 steps): logits max |Δ| ${worst}`)
  assert.ok(worst <= TOL, `${worst}`)
})

test('chunked (--chunk 2) equals --chunk 1 equals monolithic; argmax head equals logits', async () => {
  const one = await storiesModel('fp16')
  const ids = ref.check_sequence.ids
  const base = await generateWithLogits(one, { tokens: ids }, { maxTokens: 24 })
  for (const variant of ['chunk2', 'monolithic'] as const) {
    const m = await storiesModel(variant)
    const r = await generateWithLogits(m, { tokens: ids }, { maxTokens: 24 })
    assert.deepEqual(r.tokens, base.tokens, `${variant}: greedy tokens`)
    const d = Math.max(...r.logits.map((l, i) => maxAbsDiff(l, base.logits[i])))
    console.log(`${variant} vs --chunk 1: logits max |Δ| ${d} over 24 steps`)
    assert.ok(d <= TOL, `${variant}: ${d}`)
  }
  const argmax = await storiesModel('argmax')
  assert.equal(argmax.argmaxHead, true)
  const r = await argmax.complete({ tokens: [1] }, { maxTokens: 40 })
  assert.deepEqual([1, ...r.tokens], ref.greedy_from_bos.tokens, 'argmax head: reference tokens')
  await assert.rejects(
    argmax.complete({ tokens: [1] }, { temperature: 0.8, maxTokens: 2 }),
    /only greedy decoding/,
  )
})

test('a resumed multi-turn session equals a fresh prefill of the whole conversation', async () => {
  const model = await templatedModel()
  const chat = model.session()
  const turns = ['Once upon a time', 'The dog', 'Then the sun', 'Lily smiled', 'The end']
  let reusedSomewhere = false
  for (const [i, text] of turns.entries()) {
    const before = chat.messages.map((m) => ({ ...m }))
    const logits: Float32Array[] = []
    const tokens: number[] = []
    for await (const ev of chat.send(text, { maxTokens: 6, returnLogits: true }))
      if (ev.type === 'token') {
        tokens.push(ev.id)
        logits.push(ev.logits!)
      }
    const s = chat.last!.stats
    const fresh = await generateWithLogits(model, [...before, { role: 'user', content: text }], {
      maxTokens: 6,
    })
    assert.deepEqual(tokens, fresh.tokens, `turn ${i + 1}: same tokens as a fresh prefill`)
    const d = Math.max(...logits.map((l, k) => maxAbsDiff(l, fresh.logits[k])))
    console.log(
      `session turn ${i + 1}: ${s.reusedTokens} of ${s.promptTokens} prompt ids reused, ${s.droppedMessages} messages dropped, logits max |Δ| vs fresh ${d}`,
    )
    assert.ok(d <= TOL, `turn ${i + 1}: ${d}`)
    if (i > 0 && s.droppedMessages === 0) {
      assert.ok(s.reusedTokens > 0, `turn ${i + 1} reuses the cache`)
      assert.equal(s.prefillTokens, s.promptTokens - s.reusedTokens)
      reusedSomewhere = true
    }
  }
  assert.ok(reusedSomewhere, 'some turn resumed the cache without dropping history')
  assert.ok(chat.last!.stats.droppedMessages > 0, 'the window made the session drop old turns')
  assert.equal(chat.messages.at(-1)?.role, 'assistant')
  // a reset session keeps its system message only, and starts from an empty cache
  const sys = model.session({ system: 'Tell a story.' })
  const first = await sys.complete('The cat', { maxTokens: 4 })
  sys.reset()
  assert.deepEqual(sys.messages, [{ role: 'system', content: 'Tell a story.' }])
  assert.equal(sys.contextTokens.length, 0)
  assert.deepEqual((await sys.complete('The cat', { maxTokens: 4 })).tokens, first.tokens)
})
