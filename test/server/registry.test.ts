// The model registry: folders found under --models, ids by relative path, loads on first use,
// the least recently used idle model unloaded past the memory budget, a busy one never.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Model } from '../../src/generate/engine.js'
import { Registry } from '../../src/server/registry.js'
import { storiesDir } from './helpers.js'

test('registry: scan, lazy loads, LRU unloading within the budget, busy models kept', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'anemll-registry-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const src = await storiesDir()
  cpSync(src, join(root, 'a'), { recursive: true })
  cpSync(src, join(root, 'team/b'), { recursive: true })
  mkdirSync(join(root, 'broken'))
  writeFileSync(join(root, 'broken/meta.yaml'), 'model_info: [')
  const loads: string[] = []
  const warnings: string[] = []
  const fake = { newCache: () => ({ tokens: [] }) } as unknown as Model
  const registry = new Registry({
    modelsDir: root,
    queue: 4,
    promptCaches: 2,
    memoryBudget: 0, // this one only scans
    load: async (file) => (loads.push(file), fake),
    warn: (m) => warnings.push(m),
  })
  assert.deepEqual(
    registry
      .list()
      .map((e) => e.id)
      .sort(),
    ['a', 'team/b'],
  )
  assert.equal(warnings.length, 1)
  assert.match(warnings[0], /broken[/\\]meta\.yaml/)
  assert.equal(loads.length, 0, 'nothing loads before it is used')

  const [a, b] = [registry.get('a')!, registry.get('team/b')!]
  const budgeted = new Registry({
    modelsDir: root,
    queue: 4,
    promptCaches: 2,
    memoryBudget: a.bytes * 1.5,
    load: async (file) => (loads.push(file), fake),
  })
  const [A, B] = [budgeted.get('a')!, budgeted.get('team/b')!]
  await budgeted.open(A)
  await budgeted.open(A)
  assert.equal(loads.length, 1, 'a loaded model stays loaded')
  await budgeted.open(B)
  assert.ok(!A.loaded && B.loaded, 'past the budget the least recently used model is unloaded')
  const held = B.lock.enter()!
  await held.turn
  await budgeted.open(A)
  assert.ok(A.loaded && B.loaded, 'a busy model is not unloaded (the budget is exceeded instead)')
  held.cancel()
  assert.equal(loads.length, 3)
  assert.ok(b.bytes > 0 && b.meta.context > 0)
})
