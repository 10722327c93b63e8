// `anemll serve` through the official openai npm client, unmodified: what it sends, how it reads
// our answers and streams, and our errors as its own error classes.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import type { RunningServer } from '../../src/server/listen.js'
import { reference } from '../generate/helpers.js'
import { directModel, MODEL, serveStories, until } from './helpers.js'

const ref = reference()
let server: RunningServer
let client: OpenAI

before(async () => {
  server = await serveStories({ queue: 1 })
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 })
})
after(() => server.close())

test('models.list names the served folder', async () => {
  const page = await client.models.list()
  assert.deepEqual(
    page.data.map((m) => m.id),
    [MODEL],
  )
  const m = await client.models.retrieve(MODEL)
  assert.equal(m.id, MODEL)
})

test('completions: greedy text equals the transformers golden; stop strings end it', async () => {
  const r = await client.completions.create({
    model: MODEL,
    prompt: ref.prompt.text,
    max_tokens: 20,
    temperature: 0,
  })
  assert.equal(r.choices[0].text, ref.prompt.greedy_continuation_text)
  assert.equal(r.choices[0].finish_reason, 'length')
  assert.equal(r.usage?.prompt_tokens, ref.prompt.ids.length)
  assert.equal(r.usage?.completion_tokens, 20)
  const stop = ' named'
  const s = await client.completions.create({
    model: MODEL,
    prompt: ref.prompt.text,
    max_tokens: 20,
    temperature: 0,
    stop: [stop, 'zzz'],
  })
  const golden = ref.prompt.greedy_continuation_text
  assert.equal(s.choices[0].text, golden.slice(0, golden.indexOf(stop)))
  assert.equal(s.choices[0].finish_reason, 'stop')
  // streamed: the same text in pieces, then the finish reason
  const stream = await client.completions.create({
    model: MODEL,
    prompt: ref.prompt.text,
    max_tokens: 20,
    temperature: 0,
    stream: true,
  })
  let text = ''
  let finish: string | null = null
  for await (const chunk of stream) {
    text += chunk.choices[0].text
    finish = chunk.choices[0].finish_reason ?? finish
  }
  assert.equal(text, golden)
  assert.equal(finish, 'length')
})

test('chat: streamed deltas add up to the non-streamed reply, as the engine answers directly', async () => {
  const messages = [{ role: 'user' as const, content: 'Once upon a time, there was a big dog' }]
  const model = await directModel()
  const direct = await model.complete(messages, { maxTokens: 30 })
  const r = await client.chat.completions.create({
    model: MODEL,
    messages,
    max_tokens: 30,
    temperature: 0,
  })
  assert.equal(r.object, 'chat.completion')
  assert.equal(r.choices[0].message.role, 'assistant')
  assert.equal(r.choices[0].message.content, direct.text)
  assert.equal(r.usage?.prompt_tokens, direct.prompt.length)
  assert.equal(r.usage?.completion_tokens, direct.tokens.length)
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages,
    max_tokens: 30,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  })
  const chunks = []
  for await (const c of stream) chunks.push(c)
  assert.equal(chunks[0].choices[0].delta.role, 'assistant', 'the role comes first')
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')
  assert.equal(text, direct.text)
  const last = chunks.at(-1)!
  assert.deepEqual(last.choices, [], 'usage travels in a last chunk without choices')
  assert.equal(last.usage?.completion_tokens, direct.tokens.length)
  assert.equal(chunks.at(-2)!.choices[0].finish_reason, 'length')
})

test('seed: the same seed samples the same reply, another seed another', async () => {
  const ask = (seed: number) =>
    client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Once upon a time' }],
      max_tokens: 24,
      temperature: 1,
      top_p: 0.95,
      seed,
    })
  const [a, b, c] = [await ask(7), await ask(7), await ask(8)]
  assert.equal(a.choices[0].message.content, b.choices[0].message.content)
  assert.notEqual(a.choices[0].message.content, c.choices[0].message.content)
})

test('prompt caching: a 6-turn conversation reports growing cached_tokens, replies as uncached', async () => {
  const model = await directModel()
  const messages: OpenAI.ChatCompletionMessageParam[] = []
  let cached = -1
  for (const line of [
    'Tom had a ball.',
    'He ran to the park.',
    'A dog came.',
    'It was big.',
    'Tom smiled.',
    'The end.',
  ]) {
    messages.push({ role: 'user', content: line })
    const r = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 8,
      temperature: 0,
    })
    const reply = r.choices[0].message.content ?? ''
    const fresh = await model.complete(
      messages as { role: 'user' | 'assistant'; content: string }[],
      { maxTokens: 8 },
    )
    assert.equal(reply, fresh.text, `turn ${messages.length}`)
    const now = r.usage?.prompt_tokens_details?.cached_tokens ?? 0
    assert.ok(now > cached, `turn ${messages.length}: cached ${now} after ${cached}`)
    cached = now
    messages.push({ role: 'assistant', content: reply })
  }
  assert.ok(cached > 40)
})

test("errors arrive as the client's own classes: 404, 400, 429 (queue full), 401", async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found',
  )
  await assert.rejects(
    client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      n: 2,
    }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'n',
  )
  await assert.rejects(
    client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'tool', content: 'x', tool_call_id: 'a' }],
    }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages.0.role',
  )
  // fill the queue deterministically: hold the model, let one request wait (--queue 1)
  const entry = server.registry.get(MODEL)!
  const held = entry.lock.enter()!
  await held.turn
  const waiting = client.completions.create({ model: MODEL, prompt: 'Once', max_tokens: 3 })
  await until(() => entry.lock.waiting === 1, 'the second request to queue')
  await assert.rejects(
    client.completions.create({ model: MODEL, prompt: 'Once', max_tokens: 3 }),
    (e) => e instanceof OpenAI.RateLimitError && e.headers?.get('retry-after') === '1',
  )
  held.cancel()
  assert.equal(
    (await waiting).choices[0].finish_reason,
    'length',
    'the queued request runs once the model is free',
  )

  const locked = await serveStories({ apiKey: 'sekret' })
  try {
    const bad = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'wrong', maxRetries: 0 })
    await assert.rejects(bad.models.list(), (e) => e instanceof OpenAI.AuthenticationError)
    const good = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'sekret', maxRetries: 0 })
    assert.equal((await good.models.list()).data[0].id, MODEL)
  } finally {
    await locked.close()
  }
})
