// Load and faults, on 127.0.0.1 only and bounded in count: concurrent streams that must not
// interleave, clients that vanish mid-stream, slow or oversized requests, malformed bodies.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import OpenAI from 'openai'
import type { RunningServer } from '../../src/server/listen.js'
import type { GenerationRecord } from '../../src/server/run.js'
import { directModel, MODEL, serveStories, until } from './helpers.js'

let server: RunningServer
before(async () => {
  server = await serveStories({ queue: 16 })
})
after(() => server.close())

const PROMPTS = ['Once upon a time', 'The cat sat', 'Lily had a red ball.', 'One day, Tom went to']

test('32 clients x 4 streamed requests: each completes with its own text alone, or gets a 429', async () => {
  const model = await directModel()
  const alone = await Promise.all(
    PROMPTS.map((p) => model.complete(p, { maxTokens: 8, template: false })),
  )
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 })
  let done = 0
  let refused = 0
  await Promise.all(
    Array.from({ length: 32 }, async (_, c) => {
      for (let k = 0; k < 4; k++) {
        const i = (c + k) % PROMPTS.length
        try {
          const stream = await client.completions.create({
            model: MODEL,
            prompt: PROMPTS[i],
            max_tokens: 8,
            temperature: 0,
            stream: true,
          })
          let text = ''
          for await (const chunk of stream) text += chunk.choices[0].text
          assert.equal(text, alone[i].text, `client ${c}, request ${k}`)
          done++
        } catch (e) {
          if (!(e instanceof OpenAI.RateLimitError)) throw e
          refused++
        }
      }
    }),
  )
  assert.equal(done + refused, 128)
  assert.ok(done >= 17, `${done} completed`) // at least the first holder and a full queue
  assert.ok(server.registry.get(MODEL)!.lock.idle)
})

test('20 clients that disconnect mid-stream: at most one token after each, the model is free', async () => {
  const records: GenerationRecord[] = []
  const roomy = await serveStories({ queue: 32, observe: (r) => records.push(r) })
  after(() => roomy.close())
  const client = new OpenAI({ baseURL: `${roomy.url}/v1`, apiKey: 'x', maxRetries: 0 })
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      const ac = new AbortController()
      const stream = await client.chat.completions.create(
        {
          model: MODEL,
          messages: [{ role: 'user', content: 'Once upon a time' }],
          max_tokens: 200,
          temperature: 0,
          stream: true,
        },
        { signal: ac.signal },
      )
      try {
        for await (const chunk of stream) if (chunk.choices[0]?.delta.content) ac.abort()
      } catch (e) {
        if (!(e instanceof OpenAI.APIUserAbortError)) throw e
      }
    }),
  )
  await until(() => records.length === 20, 'all 20 generations to end')
  for (const r of records) {
    assert.equal(r.result.stats.stopReason, 'aborted')
    assert.ok(
      r.tokensAfterAbort >= 0 && r.tokensAfterAbort <= 1,
      `${r.tokensAfterAbort} tokens after the disconnect`,
    )
  }
  assert.ok(roomy.registry.get(MODEL)!.lock.idle, 'no generation running, nobody waiting')
  const r = await client.completions.create({
    model: MODEL,
    prompt: 'Once',
    max_tokens: 4,
    temperature: 0,
  })
  assert.equal(r.usage?.completion_tokens, 4)
})

/** A raw connection that sends `text` and never finishes; resolves when the server closes it. */
function halfRequest(to: RunningServer, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = new URL(to.url)
    const s: Socket = connect(Number(url.port), url.hostname, () => s.write(text))
    let got = ''
    s.on('data', (d) => (got += d))
    s.on('error', reject)
    s.on('close', () => resolve(got))
  })
}

test('slowloris: half-sent headers and bodies are cut off while other requests complete', async () => {
  // a server with short limits (the defaults are 10 s for headers, 30 s for a request)
  const strict = await serveStories({ headersTimeoutMs: 200, requestTimeoutMs: 400 })
  after(() => strict.close())
  const headers = halfRequest(
    strict,
    'POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl',
  )
  const body = halfRequest(
    strict,
    'POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":',
  )
  const r = await fetch(`${strict.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'Once', max_tokens: 4 }),
  })
  assert.equal(r.status, 200)
  assert.match(await headers, /^$|^HTTP\/1\.1 408/)
  assert.match(await body, /^$|^HTTP\/1\.1 408/)
})

const post = (body: string, path = '/v1/chat/completions') =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })

test('oversized bodies get 413, malformed ones 400 naming the field, in OpenAI error shape', async () => {
  const big = JSON.stringify({
    model: MODEL,
    messages: [{ role: 'user', content: 'x'.repeat(5 << 20) }],
  })
  const r413 = await post(big)
  assert.equal(r413.status, 413)
  assert.equal(
    ((await r413.json()) as { error: { type: string } }).error.type,
    'invalid_request_error',
  )
  const cases: Array<[string, string | null]> = [
    ['{"model": "stories260K", "messages": [', null],
    ['[1, 2]', null],
    [JSON.stringify({ model: MODEL, messages: 'hi' }), 'messages'],
    [JSON.stringify({ model: MODEL, messages: [] }), 'messages'],
    [
      JSON.stringify({ model: MODEL, messages: [{ role: 'wizard', content: 'x' }] }),
      'messages.0.role',
    ],
    [
      JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 5 }] }),
      'messages.0.content',
    ],
    [
      JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 1e9 }),
      'max_tokens',
    ],
    [
      JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x' }], temperature: -1 }),
      'temperature',
    ],
    [
      JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x' }], tools: [{}] }),
      'tools',
    ],
    [
      JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(5000) }] }),
      'messages',
    ],
  ]
  for (const [body, param] of cases) {
    const r = await post(body)
    const j = (await r.json()) as {
      error: { message: string; type: string; param: string | null; code: string }
    }
    assert.equal(r.status, 400, body.slice(0, 80))
    assert.equal(j.error.type, 'invalid_request_error')
    assert.equal(j.error.param, param, j.error.message)
    assert.ok(j.error.message.length > 0 && !j.error.message.includes('\n'))
  }
})
