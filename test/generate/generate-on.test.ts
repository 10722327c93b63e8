// Model.generateOn: a generation on a cache that already holds a prefix of the prompt feeds only
// the rest (the server's prompt cache relies on it) and answers what a fresh cache answers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { storiesModel, TEXT } from './helpers.js'

test('generateOn reuses the cached prefix and generates what a fresh cache does', async () => {
  const model = await storiesModel('fp16')
  const cache = model.newCache()
  const first = await drain(
    model.generateOn(cache, TEXT.slice(0, 60), { maxTokens: 4, template: false }),
  )
  assert.equal(first.stats.reusedTokens, 0)
  const prompt = model.promptIds(TEXT, { template: false })
  const held = cache.tokens.length
  assert.ok(held > 4 && prompt.slice(0, 10).every((id, i) => cache.tokens[i] === id))
  const second = await drain(model.generateOn(cache, { tokens: prompt }, { maxTokens: 8 }))
  const fresh = await model.complete({ tokens: prompt }, { maxTokens: 8 })
  assert.ok(second.stats.reusedTokens > 0, 'the shared prefix is not fed again')
  assert.equal(second.stats.reusedTokens + second.stats.prefillTokens, prompt.length)
  assert.equal(fresh.stats.reusedTokens, 0, 'generate still starts from a fresh cache')
  assert.deepEqual(second.tokens, fresh.tokens)
})

async function drain<T, R>(it: AsyncGenerator<T, R>): Promise<R> {
  for (;;) {
    const r = await it.next()
    if (r.done) return r.value
  }
}
