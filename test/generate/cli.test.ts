// anemll run / chat / demo as a user runs them: child processes, piped stdin, signals.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli/main.js'
import { anemll } from '../cli/run.js'
import { convertedDir, reference } from './helpers.js'

const ref = reference()
const BIN = join(import.meta.dirname, '../../src/cli/bin.ts')

test('run --json: prompt ids, generated ids, text and statistics', async () => {
  const dir = await convertedDir('fp16')
  const r = anemll([
    'run',
    '--meta',
    dir,
    '--prompt',
    '',
    '--no-template',
    '--max-tokens',
    '40',
    '--json',
  ])
  assert.equal(r.code, 0, r.stderr)
  const j = JSON.parse(r.stdout)
  assert.deepEqual(j.prompt, [1], 'an empty raw prompt is BOS alone')
  assert.deepEqual([1, ...j.tokens], ref.greedy_from_bos.tokens)
  assert.equal(j.text, ref.greedy_from_bos.text)
  assert.equal(j.model, 'anemll-stories260K-ctx64')
  assert.equal(j.stats.stopReason, 'max_tokens')
  for (const k of ['ttftMs', 'prefillTokensPerSecond', 'decodeTokensPerSecond', 'generatedTokens'])
    assert.equal(typeof j.stats[k], 'number', k)
  // streaming text mode: the continuation on stdout, one statistics line on stderr
  const t = anemll([
    'run',
    '--meta',
    join(dir, 'meta.yaml'),
    '--prompt',
    'Once upon a time, there was a little',
    '--max-tokens',
    '20',
  ])
  assert.equal(t.code, 0, t.stderr)
  assert.equal(t.stdout, `${ref.prompt.greedy_continuation_text}\n`)
  assert.match(t.stderr, /tok\/s, TTFT .* 20 tokens \[max_tokens\]/)
  // sampling flags reach the engine
  const seeded = anemll([
    'run',
    '--meta',
    dir,
    '--prompt',
    'The cat',
    '--temperature',
    '0.9',
    '--top-k',
    '40',
    '--seed',
    '5',
    '--max-tokens',
    '12',
    '--stop',
    'zzz',
    '--json',
  ])
  assert.equal(JSON.parse(seeded.stdout).stats.seed, 5, seeded.stderr)
})

test('run: bad flags are one-line errors', async () => {
  const dir = await convertedDir('fp16')
  const cases: [string[], RegExp][] = [
    [['run', '--prompt', 'x'], /--meta is required/],
    [['run', '--meta', dir], /--prompt is required/],
    [
      ['run', '--meta', dir, '--prompt', 'x', '--temperature', 'hot'],
      /--temperature must be a number/,
    ],
    [['run', '--meta', dir, '--prompt', 'x', '--top-p', '2'], /top-p must be in \(0, 1\]/],
    [['run', '--meta', '/nonexistent', '--prompt', 'x'], /no such meta.yaml or folder/],
    [
      ['run', '--meta', await convertedDir('argmax'), '--prompt', 'x', '--temperature', '1'],
      /only greedy/,
    ],
    [['chat', '--meta', dir, '--max-tokens', '0'], /--max-tokens must be at least 1/],
    [['demo', '--context', '60', '--batch', '16'], /must be a multiple of --batch/],
  ]
  const errors: string[] = []
  const original = console.error
  console.error = (msg: string) => errors.push(msg)
  try {
    for (const [args, re] of cases) {
      errors.length = 0
      assert.equal(await main(args), 1, args.join(' '))
      assert.equal(errors.length, 1, args.join(' '))
      assert.match(errors[0], re)
      assert.ok(!errors[0].includes('\n'), errors[0])
    }
  } finally {
    console.error = original
  }
})

test('chat: multi-turn over piped stdin, /stats, /save, /reset, unknown commands', async () => {
  const dir = await convertedDir('fp16')
  const tmp = mkdtempSync(join(tmpdir(), 'anemll-chat-'))
  try {
    const save = join(tmp, 'conv.json')
    const input = [
      'Once upon a time, there was a little',
      '/stats',
      'The dog',
      `/save ${save}`,
      '/nope',
      '/reset',
      '/stats',
      '',
    ].join('\n')
    const r = anemll(['chat', '--meta', dir, '--max-tokens', '10'], { input })
    assert.equal(r.code, 0, r.stderr)
    const replies = r.stdout.split('\n')
    // the first reply is the greedy continuation of the prompt (plain-text mode: no template)
    assert.equal(replies[0], ref.prompt.greedy_continuation_text.slice(0, replies[0].length))
    assert.ok(replies[0].length > 10)
    assert.match(r.stderr, /plain-text mode/)
    assert.match(r.stderr, /context: \d+\/64 tokens, 2 messages/)
    assert.match(r.stderr, /cached\)/, 'the second turn reuses the cache')
    assert.match(r.stderr, /unknown command \/nope/)
    assert.match(r.stderr, /conversation cleared/)
    assert.match(r.stderr, /context: 0\/64 tokens, 0 messages/)
    const saved = JSON.parse(readFileSync(save, 'utf8'))
    assert.deepEqual(
      saved.messages.map((m: { role: string }) => m.role),
      ['user', 'assistant', 'user', 'assistant'],
    )
    assert.equal(saved.messages[1].content, replies[0])
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})

test('chat: Ctrl-C stops the reply and keeps the session; Ctrl-C at the prompt leaves', async () => {
  const dir = await convertedDir('fp16')
  const p = spawn(
    process.execPath,
    ['--import', 'tsx', BIN, 'chat', '--meta', dir, '--max-tokens', '5000'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  )
  let out = ''
  let err = ''
  p.stdout.on('data', (d) => (out += d))
  p.stderr.on('data', (d) => (err += d))
  const exited = new Promise<number | null>((resolve) => p.on('exit', resolve))
  const until = async (cond: () => boolean, what: string) => {
    const t0 = Date.now()
    while (!cond()) {
      if (Date.now() - t0 > 120_000) throw new Error(`timed out waiting for ${what}: ${err}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  try {
    p.stdin.write('Once upon a time\n')
    await until(() => out.length > 30, 'the reply to start')
    p.kill('SIGINT')
    await until(() => err.includes('[aborted]'), 'the reply to stop')
    p.stdin.write('/stats\n')
    await until(() => err.includes('stop: aborted'), '/stats')
    assert.match(err, /context: \d+\/64 tokens, 2 messages/, 'the stopped reply is kept')
    p.kill('SIGINT')
    assert.equal(await exited, 0)
  } finally {
    p.kill('SIGKILL')
  }
})

test('demo: converts the bundled model to LUT parts, tells a story, cleans up', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'anemll-demo-test-'))
  try {
    const r = anemll(['demo', '--max-tokens', '24', '--context', '64', '--batch', '16'], {
      env: { TMPDIR: tmp },
    })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^Once upon a time, there was a little girl named Lily/)
    assert.match(r.stderr, /Converting stories260K \(LUT6, context 64, batch 16\)/)
    assert.match(
      r.stderr,
      /conversion: \d+s \(llama_embeddings\.mlpackage, llama_lm_head_lut6\.mlpackage, llama_FFN_PF_lut6_chunk_01of01\.mlpackage\)/,
    )
    assert.match(r.stderr, /prefill: \d+ tokens at [\d.]+ tok\/s/)
    assert.match(r.stderr, /decode: 24 tokens at [\d.]+ tok\/s/)
    const left = readdirSync(tmp).filter((f) => f.startsWith('anemll-demo-'))
    assert.deepEqual(left, [], 'the temp folder is gone')
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})
