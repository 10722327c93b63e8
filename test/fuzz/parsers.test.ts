// Property-based fuzzing of every parser of outside files (targets.ts): damaged valid files and
// random bytes must parse or fail with an AnemllError of one line — no other exception, no hang
// (a watchdog stops a worker that makes no progress), no runaway allocation (the worker's heap is
// capped). The seed is fixed, so CI replays the same inputs; bench/fuzz runs them for longer.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fuzz } from './run.js'
import { TARGETS } from './targets.js'

const SEED = 20261208
const RUNS = 200

for (const { name } of TARGETS)
  test(`fuzz ${name}: ${RUNS} damaged inputs give typed one-line errors`, async () => {
    const r = await fuzz(name, { seed: SEED, runs: RUNS, heapMb: 256 })
    assert.equal(r.failure, undefined, `${name}: ${r.failure}`)
    assert.equal(r.tried, RUNS)
  })
