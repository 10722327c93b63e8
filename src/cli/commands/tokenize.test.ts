import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { noFixture, requireFixture, smollm2Gguf } from '../../../test/fixtures/paths.js'
import { startFakeHub } from '../../../test/hub/fake-hub.js'
import { UsageError } from '../../util/errors.js'
import { type TokenizeResult, tokenizeCommand } from './tokenize.js'

const ROOT = join(import.meta.dirname, '../../..')
const SHARED = process.env.ANEMLL_SHARED ?? join(ROOT, '../shared')
const STORIES = join(SHARED, 'models/stories260K')
const QWEN3 = join(SHARED, 'tokenizers/qwen3')
const FIXTURES = join(ROOT, 'test/fixtures/tokenizer')
const golden = (name: string) =>
  JSON.parse(readFileSync(join(FIXTURES, `${name}.golden.json`), 'utf8')).cases as {
    name: string
    ids: number[]
    idsNoSpecial: number[]
  }[]

async function run(t: TestContext, argv: string[]): Promise<string> {
  const lines: string[] = []
  t.mock.method(console, 'log', (s: string) => lines.push(s))
  assert.equal(await tokenizeCommand.run(argv), 0)
  return lines.join('\n')
}

test('text output: id, piece and text per token (stories260K)', async (t) => {
  const out = await run(t, [STORIES, 'Hello world'])
  const want = golden('stories260K').find((c) => c.name === 'english')!.ids
  const ids = out
    .split('\n')
    .slice(1, -2)
    .map((l) => Number(l.trim().split(/\s+/)[0]))
  assert.deepEqual(ids, want)
  assert.match(out, /^ +1 {2}"<s>" +"<s>"$/m)
  assert.match(out, new RegExp(`^${want.length} tokens$`, 'm'))
})

test('--json and --no-special (qwen3, stories260K goldens)', async (t) => {
  const r = JSON.parse(
    await run(t, [QWEN3, '<|im_start|>user\nhi<|im_end|>', '--json']),
  ) as TokenizeResult
  assert.deepEqual(r.ids, golden('qwen3').find((c) => c.name === 'im-start-lookalike')!.ids)
  assert.equal(r.count, r.ids.length)
  assert.equal(r.pieces[0], '<|im_start|>')
  const s = JSON.parse(await run(t, [STORIES, 'Hello world', '--json', '--no-special']))
  assert.deepEqual(s.ids, golden('stories260K').find((c) => c.name === 'english')!.idsNoSpecial)
})

test('--chat renders the template around the text (qwen3, jinja2 golden)', async (t) => {
  const chat = JSON.parse(readFileSync(join(FIXTURES, 'chat.golden.json'), 'utf8'))
  const want: string = chat.templates.qwen3.renders['system-user/gen-nothink']
  const r = JSON.parse(
    await run(t, [
      QWEN3,
      'What is 2+2?',
      '--chat',
      '--system',
      'You are a terse assistant.',
      '--no-thinking',
      '--json',
    ]),
  ) as TokenizeResult
  assert.equal(r.prompt, want)
  assert.equal(r.ids[0], 151644) // <|im_start|>
  assert.deepEqual(r.ids.slice(-4), [151667, 271, 151668, 271]) // <think>\n\n</think>\n\n
})

test('a GGUF model', { skip: noFixture(smollm2Gguf()) }, async (t) => {
  const r = JSON.parse(
    await run(t, [requireFixture(smollm2Gguf(), 'SmolLM2 GGUF'), 'Hello world', '--json']),
  ) as TokenizeResult
  assert.deepEqual(r.ids, golden('smollm2').find((c) => c.name === 'english')!.ids)
})

test('a Hub id (fake Hub on 127.0.0.1)', async (t) => {
  const files = ['tokenizer.json', 'tokenizer_config.json', 'config.json', 'model.safetensors']
  const hub = await startFakeHub([
    {
      id: 'karpathy/stories260K',
      sha: 'aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd',
      files: files.map((f) => ({
        path: f,
        data: readFileSync(join(STORIES, f)),
        lfs: f.endsWith('.safetensors'),
      })),
    },
  ])
  const env = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_HOME: process.env.HF_HOME }
  process.env.HF_ENDPOINT = hub.url
  process.env.HF_HOME = join(tmpdir(), `anemll-tok-${process.pid}`)
  t.mock.method(process.stderr, 'write', () => true) // progress bar
  try {
    const r = JSON.parse(await run(t, ['karpathy/stories260K', 'Hello world', '--json']))
    assert.deepEqual(r.ids, golden('stories260K').find((c) => c.name === 'english')!.ids)
    const fetched = hub.requests.map((q) => q.url).filter((u) => u.includes('/resolve/'))
    assert.deepEqual(fetched.map((u) => u.split('/').pop()).sort(), [
      'tokenizer.json',
      'tokenizer_config.json',
    ])
  } finally {
    for (const [k, v] of Object.entries(env))
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    await hub.close()
  }
})

test('text from stdin, through the real binary entry', () => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'tokenize', STORIES, '--json'],
    { input: '你好\n', encoding: 'utf8', cwd: ROOT, timeout: 60_000 },
  )
  assert.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout) as TokenizeResult
  assert.equal(out.text, '你好\n')
  assert.deepEqual(out.pieces.slice(0, 2), ['<s>', '▁'])
  assert.ok(out.pieces.includes('<0xE4>'))
})

test('usage errors', async () => {
  await assert.rejects(tokenizeCommand.run([]), UsageError)
  await assert.rejects(tokenizeCommand.run([STORIES, 'a', 'b']), UsageError)
  await assert.rejects(tokenizeCommand.run([STORIES, 'x', '--system', 's']), /need --chat/)
  await assert.rejects(tokenizeCommand.run([STORIES, 'x', '--chat']), /no chat template/)
  await assert.rejects(tokenizeCommand.run(['./missing-model', 'x']), /no such file or folder/)
})
