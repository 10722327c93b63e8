// The parser fuzzers of test/fuzz for longer: each target for --seconds (default 60), from
// --seed (default: a random one, printed so a failure can be replayed), in a heap-capped worker.
// Prints inputs tried, inputs per second and the first failure (shrunk) of each target.
// Usage: npx tsx bench/fuzz/run.ts [--seconds 60] [--seed N] [--target 'MIL text' ...]
import { parseArgs } from 'node:util'
import { fuzz } from '../../test/fuzz/run.js'
import { TARGETS } from '../../test/fuzz/targets.js'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string' },
    target: { type: 'string', multiple: true },
  },
})
const seconds = Number(values.seconds)
const seed = values.seed === undefined ? (Math.random() * 2 ** 31) | 0 : Number(values.seed)
const names = values.target ?? TARGETS.map((t) => t.name)
console.log(`seed ${seed}, ${seconds} s per target`)
let total = 0
let failed = 0
for (const name of names) {
  const t0 = performance.now()
  const r = await fuzz(name, { seed, runs: Number.MAX_SAFE_INTEGER, timeLimitMs: seconds * 1000 })
  const s = (performance.now() - t0) / 1000
  total += r.tried
  if (r.failure) failed++
  console.log(
    `${name.padEnd(20)} ${String(r.tried).padStart(8)} inputs  ${(r.tried / s).toFixed(0).padStart(6)}/s  ${r.failure ?? 'ok'}`,
  )
}
console.log(`total ${total} inputs, ${failed} target(s) failed`)
process.exit(failed ? 1 : 0)
