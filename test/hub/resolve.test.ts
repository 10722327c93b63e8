import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveModel } from '../../src/checkpoint/resolve.js'
import { UsageError } from '../../src/util/errors.js'
import { startFakeHub } from './fake-hub.js'

const SHA = 'fedcba9876543210fedcba9876543210fedcba98'

test('folders, .gguf files and Hub ids resolve; anything else is a clear UsageError', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anemll-resolve-'))
  writeFileSync(join(dir, 'm.gguf'), 'GGUF')
  writeFileSync(join(dir, 'notes.txt'), 'x')
  assert.deepEqual(await resolveModel(dir), { kind: 'folder', path: dir })
  assert.deepEqual(await resolveModel(join(dir, 'm.gguf')), {
    kind: 'gguf',
    path: join(dir, 'm.gguf'),
  })
  await assert.rejects(resolveModel(join(dir, 'notes.txt')), /is a file but not a \.gguf/)
  await assert.rejects(resolveModel(join(dir, 'missing.gguf')), /no such file or folder/)
  await assert.rejects(resolveModel('./nope'), /no such file or folder: \.\/nope/)
  await assert.rejects(resolveModel('a/b/c'), /no such file or folder/)
  await assert.rejects(
    resolveModel('just-a-name'),
    (e: unknown) =>
      e instanceof UsageError && /not a model folder, a \.gguf file or a Hub id/.test(e.message),
  )

  const hub = await startFakeHub([
    {
      id: 'acme/m',
      sha: SHA,
      files: [
        { path: 'config.json', data: Buffer.from('{}') },
        { path: 'model.safetensors', data: Buffer.alloc(64, 7), lfs: true },
      ],
    },
  ])
  try {
    const env = { HF_ENDPOINT: hub.url, HF_HOME: join(dir, 'hf') }
    const r = await resolveModel('acme/m', { env, quiet: true })
    assert.equal(r.kind, 'folder')
    assert.equal(r.path, join(dir, 'hf/hub/models--acme--m/snapshots', SHA))
    assert.equal(r.hubId, 'acme/m@main')
  } finally {
    await hub.close()
  }
})
