// The Hub client against a local fake Hub (127.0.0.1 only; no other network traffic).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { downloadSnapshot, parseRepoSpec, type HubOptions } from '../../src/checkpoint/hub.js'
import { AnemllError, FormatError, UsageError } from '../../src/util/errors.js'
import { type FakeRepo, sha256, startFakeHub } from './fake-hub.js'

const SHA = '0123456789abcdef0123456789abcdef01234567'
// Deterministic pseudo-random weights (an LFS file of 300 kB).
const weights = Buffer.alloc(300_000)
for (let i = 0, x = 1; i < weights.length; i++)
  weights[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24
const TINY: FakeRepo = {
  id: 'acme/tiny-model',
  sha: SHA,
  refs: ['v1.0'],
  files: [
    { path: 'config.json', data: Buffer.from('{"model_type":"llama"}\n') },
    { path: 'tokenizer.json', data: Buffer.from('{"model":{"type":"BPE"}}\n') },
    { path: 'model.safetensors', data: weights, lfs: true },
    { path: 'README.md', data: Buffer.from('# tiny\n') },
    { path: 'original/params.json', data: Buffer.from('{}') },
  ],
}
const GATED: FakeRepo = { ...TINY, id: 'acme/gated', gatedToken: 'hf_good' }
const NO_WEIGHTS: FakeRepo = {
  ...TINY,
  id: 'acme/gguf-only',
  files: [{ path: 'm.gguf', data: Buffer.from('x') }],
}
const EVIL: FakeRepo = {
  ...TINY,
  id: 'acme/evil',
  rawSiblings: [{ rfilename: '../../../escape.json', size: 2, blobId: 'a'.repeat(40) }],
}

function setup() {
  const home = mkdtempSync(join(tmpdir(), 'anemll-hf-'))
  const cacheRoot = (repo: string) => join(home, 'hub', `models--${repo.replace('/', '--')}`)
  return { home, cacheRoot }
}

async function withHub(fn: (hub: Awaited<ReturnType<typeof startFakeHub>>) => Promise<void>) {
  const hub = await startFakeHub([TINY, GATED, NO_WEIGHTS, EVIL])
  try {
    await fn(hub)
  } finally {
    await hub.close()
  }
}

const opts = (env: NodeJS.ProcessEnv, extra: HubOptions = {}): HubOptions => ({
  env,
  quiet: true,
  retryDelayMs: 5,
  idleTimeoutMs: 5000,
  ...extra,
})

test('downloads configs, tokenizer and weights into the huggingface_hub cache layout', () =>
  withHub(async (hub) => {
    const { home, cacheRoot } = setup()
    const lines: string[] = []
    const stream = { isTTY: false, write: (s: string) => lines.push(s) }
    const env = { HF_ENDPOINT: hub.url, HF_HOME: home }
    const snap = await downloadSnapshot('acme/tiny-model', {
      ...opts(env),
      quiet: false,
      progressStream: stream,
    })
    assert.equal(snap.sha, SHA)
    assert.equal(snap.dir, join(cacheRoot('acme/tiny-model'), 'snapshots', SHA))
    assert.deepEqual(snap.files.sort(), ['config.json', 'model.safetensors', 'tokenizer.json'])
    for (const f of TINY.files.filter((f) => snap.files.includes(f.path))) {
      const p = join(snap.dir, f.path)
      assert.ok(lstatSync(p).isSymbolicLink())
      assert.deepEqual(readFileSync(p), f.data, f.path)
    }
    assert.equal(
      readlinkSync(join(snap.dir, 'model.safetensors')),
      join('..', '..', 'blobs', sha256(weights)),
    )
    assert.equal(readFileSync(join(cacheRoot('acme/tiny-model'), 'refs/main'), 'utf8'), SHA)
    assert.ok(!existsSync(join(snap.dir, 'README.md')), 'README is not a model file')
    assert.match(lines.at(-1)!, /^acme\/tiny-model .*293 KiB\/293 KiB .* in /)

    // Second time: one listing request, no downloads.
    const before = hub.requests.length
    const again = await downloadSnapshot('acme/tiny-model', opts(env))
    assert.equal(again.dir, snap.dir)
    assert.deepEqual(
      hub.requests.slice(before).map((r) => r.url.split('?')[0]),
      ['/api/models/acme/tiny-model/revision/main'],
    )
  }))

test('revisions: tags and commit shas resolve to the same snapshot; refs are recorded', () =>
  withHub(async (hub) => {
    const { home, cacheRoot } = setup()
    const env = { HF_ENDPOINT: hub.url, HF_HOME: home }
    const a = await downloadSnapshot(
      'acme/tiny-model@v1.0',
      opts(env, { include: (p) => p.endsWith('.json') }),
    )
    assert.deepEqual(a.files.sort(), ['config.json', 'original/params.json', 'tokenizer.json'])
    assert.ok(existsSync(join(a.dir, 'original/params.json')))
    assert.equal(readFileSync(join(cacheRoot('acme/tiny-model'), 'refs/v1.0'), 'utf8'), SHA)
    const b = await downloadSnapshot(
      `acme/tiny-model@${SHA}`,
      opts(env, { include: (p) => p.endsWith('.json') }),
    )
    assert.equal(b.dir, a.dir)
  }))

test('a connection dropped mid-file is resumed with Range and completes with the right bytes', () =>
  withHub(async (hub) => {
    const { home } = setup()
    hub.drops.push({ path: 'model.safetensors', bytes: 100_000, times: 2 })
    const snap = await downloadSnapshot(
      'acme/tiny-model',
      opts({ HF_ENDPOINT: hub.url, HF_HOME: home }),
    )
    assert.deepEqual(readFileSync(join(snap.dir, 'model.safetensors')), weights)
    const ranges = hub.requests.filter((r) => r.url.startsWith('/cdn/')).map((r) => r.range)
    assert.deepEqual(ranges, [undefined, 'bytes=100000-', 'bytes=200000-'])
  }))

test('a stalled transfer times out and is resumed', () =>
  withHub(async (hub) => {
    const { home } = setup()
    hub.drops.push({ path: 'model.safetensors', bytes: 50_000, times: 1, hang: true })
    const env = { HF_ENDPOINT: hub.url, HF_HOME: home }
    const snap = await downloadSnapshot('acme/tiny-model', opts(env, { idleTimeoutMs: 300 }))
    assert.deepEqual(readFileSync(join(snap.dir, 'model.safetensors')), weights)
    const ranges = hub.requests.filter((r) => r.url.startsWith('/cdn/')).map((r) => r.range)
    assert.deepEqual(ranges, [undefined, 'bytes=50000-'])
  }))

test('a leftover .incomplete file from an earlier run is resumed, not restarted', () =>
  withHub(async (hub) => {
    const { home, cacheRoot } = setup()
    const blobs = join(cacheRoot('acme/tiny-model'), 'blobs')
    mkdirSync(blobs, { recursive: true })
    writeFileSync(join(blobs, `${sha256(weights)}.incomplete`), weights.subarray(0, 123_456))
    const snap = await downloadSnapshot(
      'acme/tiny-model',
      opts({ HF_ENDPOINT: hub.url, HF_HOME: home }),
    )
    assert.deepEqual(readFileSync(join(snap.dir, 'model.safetensors')), weights)
    const cdn = hub.requests.filter((r) => r.url.startsWith('/cdn/'))
    assert.deepEqual(
      cdn.map((r) => r.range),
      ['bytes=123456-'],
    )
    assert.deepEqual(
      readdirSync(blobs).filter((f) => f.endsWith('.incomplete')),
      [],
    )
  }))

test('bytes that do not match the sha256 are rejected and not kept', () =>
  withHub(async (hub) => {
    const { home, cacheRoot } = setup()
    const bad = Buffer.from(weights)
    bad[1234] ^= 0xff
    hub.corrupt.set('model.safetensors', bad)
    await assert.rejects(
      downloadSnapshot('acme/tiny-model', opts({ HF_ENDPOINT: hub.url, HF_HOME: home })),
      (e: unknown) => e instanceof FormatError && /checksum .* does not match/.test(e.message),
    )
    const blobs = readdirSync(join(cacheRoot('acme/tiny-model'), 'blobs'))
    assert.ok(!blobs.some((b) => b.startsWith(sha256(weights))), blobs.join(','))
  }))

test('gated repos: 401 explains the licence and HF_TOKEN; a token (env or $HF_HOME/token) works', () =>
  withHub(async (hub) => {
    const { home } = setup()
    const env = { HF_ENDPOINT: hub.url, HF_HOME: home }
    await assert.rejects(
      downloadSnapshot('acme/gated', opts(env)),
      /acme\/gated is gated: accept the licence on http:\/\/127\.0\.0\.1:\d+\/acme\/gated and set HF_TOKEN/,
    )
    await assert.rejects(
      downloadSnapshot('acme/gated', opts({ ...env, HF_TOKEN: 'hf_bad' })),
      /no access/,
    )
    const snap = await downloadSnapshot('acme/gated', opts({ ...env, HF_TOKEN: 'hf_good' }))
    assert.deepEqual(readFileSync(join(snap.dir, 'model.safetensors')), weights)
    writeFileSync(join(home, 'token'), 'hf_good\n')
    await downloadSnapshot('acme/gated@v1.0', opts(env))
    assert.ok(hub.requests.some((r) => r.auth === 'Bearer hf_good' && r.url.startsWith('/cdn/')))
  }))

test('unknown repos and revisions are clear errors', () =>
  withHub(async (hub) => {
    const env = { HF_ENDPOINT: hub.url, HF_HOME: setup().home }
    await assert.rejects(
      downloadSnapshot('acme/nope', opts(env)),
      /no such repo\/revision acme\/nope@main .*set HF_TOKEN/,
    )
    await assert.rejects(
      downloadSnapshot('acme/tiny-model@nope', opts(env)),
      /no such revision 'nope' in acme\/tiny-model/,
    )
    await assert.rejects(
      downloadSnapshot('acme/gguf-only', opts(env)),
      /has no \.safetensors weights \(files: m\.gguf\)/,
    )
  }))

test('offline mode uses the cache, or fails clearly; an unreachable Hub falls back to the cache', async () => {
  const { home } = setup()
  let endpoint = ''
  await withHub(async (hub) => {
    endpoint = hub.url
    await downloadSnapshot('acme/tiny-model', opts({ HF_ENDPOINT: hub.url, HF_HOME: home }))
  })
  // The server is closed now: nothing answers on that port.
  const offline = await downloadSnapshot(
    'acme/tiny-model',
    opts({ HF_ENDPOINT: endpoint, HF_HOME: home, HF_HUB_OFFLINE: '1' }),
  )
  assert.deepEqual(readFileSync(join(offline.dir, 'model.safetensors')), weights)
  assert.deepEqual(offline.files.sort(), ['config.json', 'model.safetensors', 'tokenizer.json'])
  await assert.rejects(
    downloadSnapshot(
      'acme/other',
      opts({ HF_ENDPOINT: endpoint, HF_HOME: home, HF_HUB_OFFLINE: '1' }),
    ),
    /HF_HUB_OFFLINE is set and acme\/other@main is not in the cache/,
  )
  const warnings: string[] = []
  const down = await downloadSnapshot(
    'acme/tiny-model',
    opts({ HF_ENDPOINT: endpoint, HF_HOME: home }, { onWarning: (m) => warnings.push(m) }),
  )
  assert.equal(down.dir, offline.dir)
  assert.match(
    warnings[0],
    /cannot reach the Hub: .*ECONNREFUSED.*using the cached snapshot 01234567/,
  )
  await assert.rejects(
    downloadSnapshot('acme/other', opts({ HF_ENDPOINT: endpoint, HF_HOME: home })),
    (e: unknown) => e instanceof AnemllError && /cannot reach the Hub/.test(e.message),
  )
})

test('repo ids, revisions and listed file names cannot escape the cache', () =>
  withHub(async (hub) => {
    for (const bad of [
      '../etc',
      'a/../../b',
      '/abs/path',
      'a\\b/c',
      'a/b/c',
      'org/..',
      'org/na--me',
      'a',
      '',
      'org/name@..',
      'org/name@a/../../x',
      'org/name@/abs',
      'org/name@a\\b',
    ])
      assert.throws(() => parseRepoSpec(bad), UsageError, bad)
    assert.deepEqual(parseRepoSpec('Qwen/Qwen3-0.6B@refs/pr/1'), {
      repo: 'Qwen/Qwen3-0.6B',
      revision: 'refs/pr/1',
    })
    const { home } = setup()
    await assert.rejects(
      downloadSnapshot(
        'acme/evil',
        opts({ HF_ENDPOINT: hub.url, HF_HOME: home }, { include: () => true }),
      ),
      (e: unknown) =>
        e instanceof FormatError && /unsafe file name "..\/..\/..\/escape.json"/.test(e.message),
    )
    assert.ok(
      !existsSync(join(home, 'escape.json')) && !existsSync(join(home, 'hub', 'escape.json')),
    )
  }))
