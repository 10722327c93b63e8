// Generation behaviour on stories260K (fp16, C = 64, B = 16): sampling, stops, cancellation,
// the window shift.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { windowKeep } from '../../src/generate/cache.js'
import type { GenerationEvent } from '../../src/generate/types.js'
import { CONTEXT, generateWithLogits, reference, storiesModel } from './helpers.js'

const ref = reference()
const BOS = { tokens: [1] }

async function collect(it: AsyncIterable<GenerationEvent>): Promise<GenerationEvent[]> {
  const events: GenerationEvent[] = []
  for await (const ev of it) events.push(ev)
  return events
}

test('sampling with a seed is reproducible; other seeds differ; top-k 1 is greedy', async () => {
  const model = await storiesModel()
  const opts = { temperature: 1, topP: 0.95, maxTokens: 30 }
  const a = await model.complete(BOS, { ...opts, seed: 42 })
  const b = await model.complete(BOS, { ...opts, seed: 42 })
  const c = await model.complete(BOS, { ...opts, seed: 43 })
  assert.deepEqual(a.tokens, b.tokens)
  assert.equal(a.stats.seed, 42)
  assert.notDeepEqual(a.tokens, c.tokens)
  const k1 = await model.complete(BOS, { temperature: 1.5, topK: 1, seed: 7, maxTokens: 40 })
  assert.deepEqual([1, ...k1.tokens], ref.greedy_from_bos.tokens)
  const minP = await model.complete(BOS, { temperature: 0.7, minP: 0.1, seed: 1, maxTokens: 20 })
  assert.equal(minP.tokens.length, 20)
  assert.ok(minP.text.length > 0)
})

test('stop strings end the text before them; stop ids end generation without being emitted', async () => {
  const model = await storiesModel()
  assert.ok(model.stopTokenIds.includes(2), '</s> (config.json eos) stops')
  const s = await model.complete(BOS, { stop: ['Lily'], maxTokens: 40 })
  assert.equal(s.text, 'Once upon a time, there was a little girl named ')
  assert.equal(s.stats.stopReason, 'stop_string')
  // the 10th greedy token as a stop id: nine tokens come out, the tenth is the stop token
  const tenth = ref.greedy_from_bos.tokens[10]
  const e = await model.complete(BOS, { stopTokens: [tenth], maxTokens: 40 })
  const firstTenth = ref.greedy_from_bos.tokens.indexOf(tenth) - 1
  assert.deepEqual(e.tokens, ref.greedy_from_bos.tokens.slice(1, 1 + firstTenth))
  assert.equal(e.stats.stopReason, 'eos')
  assert.equal(e.stats.stopToken, tenth)
  assert.equal(e.text, model.tokenizer.decode(e.tokens))
  const m = await model.complete(BOS, { maxTokens: 3 })
  assert.equal(m.stats.stopReason, 'max_tokens')
  assert.equal(m.tokens.length, 3)
})

test('an AbortSignal stops streaming; breaking out of the loop leaves the model usable', async () => {
  const model = await storiesModel()
  const ac = new AbortController()
  let n = 0
  let done: GenerationEvent | undefined
  for await (const ev of model.generate(BOS, { signal: ac.signal, maxTokens: 60 })) {
    if (ev.type === 'token' && ++n === 5) ac.abort()
    if (ev.type === 'done') done = ev
  }
  assert.ok(done?.type === 'done')
  assert.equal(done.result.stats.stopReason, 'aborted')
  assert.equal(done.result.tokens.length, 5)
  const pre = await model.complete(BOS, { signal: AbortSignal.abort(), maxTokens: 5 })
  assert.deepEqual([pre.tokens, pre.stats.stopReason], [[], 'aborted'])
  for await (const ev of model.generate(BOS, { maxTokens: 40 })) if (ev.type === 'token') break
  const after = await model.complete(BOS, { maxTokens: 40 })
  assert.deepEqual([1, ...after.tokens], ref.greedy_from_bos.tokens)
})

test('the window shifts when all C rows are used and generation goes on past the context', async () => {
  const model = await storiesModel()
  const keep = windowKeep(CONTEXT, model.meta.batch) // 32
  const events = await collect(model.generate(BOS, { maxTokens: 100, returnLogits: true }))
  const tokens = events.flatMap((e) => (e.type === 'token' ? [e.id] : []))
  const shifts = events.flatMap((e, i) => (e.type === 'shift' ? [{ ...e, at: i }] : []))
  assert.equal(tokens.length, 100)
  assert.ok(shifts.length >= 2, `${shifts.length} shifts`)
  // BOS + 63 generated ids fill the 64 rows; feeding the 64th generated id shifts
  const before = events.slice(0, shifts[0].at).filter((e) => e.type === 'token').length
  assert.equal(before, CONTEXT)
  assert.deepEqual([shifts[0].dropped, shifts[0].kept], [CONTEXT + 1 - keep, keep])
  // after the shift the model sees exactly the last `keep` ids: a fresh run on them agrees
  const seq = [1, ...tokens]
  const window = seq.slice(CONTEXT + 1 - keep, CONTEXT + 1)
  const fresh = await generateWithLogits(model, { tokens: window }, { maxTokens: 20 })
  assert.deepEqual(fresh.tokens, tokens.slice(CONTEXT, CONTEXT + 20))
  const done = events.at(-1)
  assert.ok(done?.type === 'done')
  assert.equal(done.result.stats.windowShifts, shifts.length)
  // without shifting, generation stops once every row is used
  const full = await model.complete(BOS, { maxTokens: 100, shift: false })
  assert.equal(full.stats.stopReason, 'context_full')
  assert.equal(full.tokens.length, CONTEXT)
  assert.deepEqual(full.tokens, tokens.slice(0, CONTEXT))
})

test('prompts longer than the window keep their last new_size ids', async () => {
  const model = await storiesModel()
  const long = Array.from({ length: 100 }, (_, i) => ref.check_sequence.ids[i % 20])
  const r = await model.complete({ tokens: long }, { maxTokens: 2 })
  const keep = windowKeep(CONTEXT, model.meta.batch)
  assert.equal(r.stats.truncatedTokens, 100 - keep)
  assert.deepEqual(r.prompt, long.slice(-keep))
  const same = await model.complete({ tokens: long.slice(-keep) }, { maxTokens: 2 })
  assert.deepEqual(r.tokens, same.tokens)
})

test('statistics add up', async () => {
  const model = await storiesModel()
  const r = await model.complete({ tokens: ref.check_sequence.ids }, { maxTokens: 10 })
  const s = r.stats
  assert.equal(s.promptTokens, 20)
  assert.equal(s.prefillTokens, 20)
  assert.equal(s.generatedTokens, 10)
  assert.ok(s.ttftMs > 0 && s.prefillMs > 0 && s.decodeMs > 0 && s.totalMs >= s.ttftMs)
  assert.ok(s.prefillTokensPerSecond > 0 && s.decodeTokensPerSecond > 0)
  assert.equal(s.seed, undefined, 'greedy runs report no seed')
})
