// Security defaults and the CLI: loopback by default, API keys, CORS only when asked, model ids
// that are never paths; `anemll serve` as a user starts and stops it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { main } from '../../src/cli/main.js'
import { MODEL, MODELS_DIR, serveStories, storiesDir } from './helpers.js'

test('defaults: loopback, no CORS headers; ids from the registry only', async (t) => {
  const s = await serveStories()
  t.after(() => s.close())
  assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  const r = await fetch(`${s.url}/v1/models`, { headers: { origin: 'https://evil.example' } })
  assert.equal(r.status, 200)
  assert.equal(r.headers.get('access-control-allow-origin'), null)
  for (const id of ['../models/stories260K', '/etc/passwd', `${MODELS_DIR}/${MODEL}`]) {
    const g = await fetch(`${s.url}/v1/models/${encodeURIComponent(id)}`)
    assert.equal(g.status, 404, id)
    const c = await fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: id, prompt: 'x' }),
    })
    assert.equal(c.status, 404, id)
  }
})

test('--api-key guards /v1 (not /health); --cors answers preflights for its origin', async (t) => {
  const s = await serveStories({ apiKey: 'k1', cors: 'http://app.example' })
  t.after(() => s.close())
  assert.equal((await fetch(`${s.url}/health`)).status, 200)
  for (const auth of [undefined, 'Bearer k2', 'Bearer k1x', 'Basic k1', 'k1']) {
    const r = await fetch(`${s.url}/v1/models`, { headers: auth ? { authorization: auth } : {} })
    assert.equal(r.status, 401, String(auth))
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'invalid_api_key')
  }
  const ok = await fetch(`${s.url}/v1/models`, {
    headers: { authorization: 'Bearer k1', origin: 'http://app.example' },
  })
  assert.equal(ok.status, 200)
  assert.equal(ok.headers.get('access-control-allow-origin'), 'http://app.example')
  const pre = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'OPTIONS',
    headers: {
      origin: 'http://app.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  })
  assert.equal(pre.status, 204, 'a preflight carries no key and is not refused')
})

test('anemll serve: --help, flag errors, and a real start and stop', async (t) => {
  const out: string[] = []
  t.mock.method(console, 'log', (s: string) => out.push(s))
  t.mock.method(console, 'error', (s: string) => out.push(s))
  assert.equal(await main(['serve', '--help']), 0)
  for (const flag of [
    '--models',
    '--host',
    '--port',
    '--api-key',
    '--cors',
    '--queue',
    '--memory',
    'ANEMLL_API_KEY',
  ])
    assert.ok(out[0].includes(flag), flag)
  assert.equal(await main(['serve', '--models', MODELS_DIR, '--queue', 'lots']), 1)
  assert.equal(out[1], "anemll serve: --queue must be an integer >= 0, got 'lots'")
  t.mock.restoreAll()

  await storiesDir() // the conversion in MODELS_DIR
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, '../../src/cli/bin.ts'),
      'serve',
      '--models',
      MODELS_DIR,
      '--port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ANEMLL_API_KEY: 'from-env' } },
  )
  let err = ''
  child.stderr.setEncoding('utf8')
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: string) => {
      err += d
      const m = /on (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(err)
      if (m) resolve(m[1])
    })
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)))
  })
  assert.match(err, new RegExp(`1 model\\(s\\) \\[${MODEL}\\]`))
  assert.equal((await fetch(`${url}/v1/models`)).status, 401, 'ANEMLL_API_KEY is required')
  const r = await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer from-env' } })
  assert.equal(((await r.json()) as { data: { id: string }[] }).data[0].id, MODEL)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  assert.equal(code, 0)
})
