#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with Node's test runner (TypeScript via tsx).
// Usage: npm test [-- substring ...]  (only files whose path contains one of the substrings)
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

// The tests read real models and tokenizers from the shared folder beside the repository.
const shared = resolve(process.env.ANEMLL_SHARED ?? join(import.meta.dirname, '../../shared'))
if (!existsSync(join(shared, 'models')) || !existsSync(join(shared, 'tokenizers'))) {
  console.error(
    `npm test: test data folder ${shared} (models/, tokenizers/) is missing: put it beside the repository or set ANEMLL_SHARED (see README.md, Test)`,
  )
  process.exit(1)
}

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p, out)
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out
}

const filters = process.argv.slice(2)
const files = ['src', 'test']
  .flatMap((d) => walk(d, []))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort()
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`)
  process.exit(1)
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
)
process.exit(r.status ?? 1)
