// `anemll serve` through the official openai Python client (oracle venv), unmodified; usage
// counts are checked there against Hugging Face's `tokenizers`.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { RunningServer } from '../../src/server/listen.js'
import { noPython, requirePython } from '../oracle/python.js'
import { reference, STORIES } from '../generate/helpers.js'
import { MODEL, serveStories, until } from './helpers.js'

const SCRIPT = join(import.meta.dirname, 'openai_client.py')
const TOKENIZER = join(STORIES, 'tokenizer.json')
let server: RunningServer

// asynchronous: the server answers from this process while the client runs
const client = async (mode: string, url = server.url, key?: string) => {
  const args = [SCRIPT, `${url}/v1`, MODEL, TOKENIZER, mode, ...(key ? [key] : [])]
  const r = await promisify(execFile)(requirePython(), args, { timeout: 120_000 })
  return JSON.parse(r.stdout)
}

before(async () => {
  server = await serveStories({ queue: 1 })
})
after(() => server.close())

test(
  'openai (Python): models, chat and completions streamed or not, stop, seed, usage, 404/400',
  { skip: noPython() },
  async () => {
    const out = await client('main')
    assert.deepEqual(out.models, [MODEL])
    assert.equal(out.completion, reference().prompt.greedy_continuation_text)
    assert.equal(out.errors, 'ok')
  },
)

test(
  'openai (Python): RateLimitError when the queue is full, AuthenticationError without the key',
  { skip: noPython() },
  async () => {
    const entry = server.registry.get(MODEL)!
    const held = entry.lock.enter()!
    await held.turn
    const waiting = fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'Once', max_tokens: 2 }),
    })
    await until(() => entry.lock.waiting === 1, 'the second request to queue')
    assert.equal((await client('429')).retry_after, '1')
    held.cancel()
    assert.equal((await waiting).status, 200)
    const locked = await serveStories({ apiKey: 'sekret' })
    try {
      assert.equal((await client('401', locked.url, 'wrong'))['401'], 'ok')
    } finally {
      await locked.close()
    }
  },
)
