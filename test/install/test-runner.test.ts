// `npm test` without the shared test data folder stops at once with one line saying what is
// missing, instead of a storm of ENOENT failures.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'

test('npm test without the shared folder fails fast with one line naming it', () => {
  const r = spawnSync(process.execPath, ['scripts/test.mjs', 'install/engines'], {
    env: { ...process.env, ANEMLL_SHARED: '/nonexistent/anemll-shared' },
    encoding: 'utf8',
    timeout: 30_000,
  })
  assert.equal(r.status, 1)
  assert.equal(r.stdout, '')
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 1, r.stderr)
  assert.match(lines[0], /\/nonexistent\/anemll-shared .*missing.*ANEMLL_SHARED/)
})
