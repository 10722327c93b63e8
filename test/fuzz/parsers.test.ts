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

const BROKEN = new URL('./broken-targets.ts', import.meta.url).href

test('the harness reports a hang (watchdog ticks injected), an untyped error, and printing', async () => {
  let tick: () => void = () => {}
  const hang = fuzz('hangs', {
    seed: 1,
    runs: 10,
    hangMs: 1000,
    module: BROKEN,
    every: (fn) => ((tick = fn), () => {}),
  })
  // Four ticks of 250 ms without a finished input: stopped as a hang on the first input.
  for (let i = 0; i < 5; i++) tick()
  assert.match((await hang).failure ?? '', /^no input finished for 1000 ms: a hang at input 1/)
  const typeError = await fuzz('throws a TypeError', { seed: 1, runs: 100, module: BROKEN })
  assert.match(typeError.failure ?? '', /^untyped TypeError: .*\n {2}shrunk input: 1 bytes: 09\n/)
  const prints = await fuzz('prints', { seed: 1, runs: 10, module: BROKEN })
  assert.match(prints.failure ?? '', /^printed to the console: careful/)
})
