// bench/convert: wall time and peak RSS of `anemll convert` on SmolLM2-135M (fp16 and LUT4, from
// the GGUF fixture) and on a synthetic checkpoint with Llama-3.2-1B's shapes (LUT4 FFN, LUT6
// head). Each conversion runs in a fresh process. Targets (issue 4): the 1B-shaped conversion in
// under 60 s on 2 cores, peak RSS under 1.5x the largest part written.
//
// Usage: npx tsx bench/convert/run.ts [--only smollm2|1b]
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeSynthetic } from './synthetic.js'

const cache = process.env.ANEMLL_CACHE ?? join(homedir(), '.cache/anemll')
const only = process.argv.includes('--only')
  ? process.argv[process.argv.indexOf('--only') + 1]
  : undefined
const gib = (b: number) => `${(b / 1024 ** 3).toFixed(2)} GiB`

function run(label: string, model: string, lut2: string, lut3: string, chunks: string) {
  const out = mkdtempSync(join(tmpdir(), 'anemll-bench-'))
  try {
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'child.ts'),
        model,
        out,
        lut2,
        lut3,
        chunks,
        '512',
      ],
      { encoding: 'utf8', maxBuffer: 1 << 26 },
    )
    if (r.status !== 0) throw new Error(`${label} failed: ${r.stderr}`)
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!)
    console.log(
      `${label.padEnd(34)} ${j.seconds.toFixed(1).padStart(6)} s   peak RSS ${gib(j.peakRssBytes)}   largest part ${gib(j.largestPartBytes)}   RSS/largest ${(j.peakRssBytes / j.largestPartBytes).toFixed(2)}x`,
    )
    return j
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}

const smol = join(cache, 'fixtures/SmolLM2-135M-Instruct.Q4_1.gguf')
if (!only || only === 'smollm2') {
  if (!existsSync(smol)) console.log('SmolLM2 GGUF missing: run bash scripts/fixtures.sh')
  else {
    run('SmolLM2-135M fp16 (1 chunk)', smol, 'none', 'none', '1')
    run('SmolLM2-135M LUT4 FFN / LUT6 head', smol, '4', '6', '1')
  }
}
if (!only || only === '1b') {
  const t = performance.now()
  const dir = makeSynthetic(join(cache, 'bench/llama-3.2-1b-synthetic'))
  console.log(
    `synthetic Llama-3.2-1B checkpoint ready (${((performance.now() - t) / 1000).toFixed(1)} s)`,
  )
  run('Llama-3.2-1B shapes LUT4 / LUT6', dir, '4', '6', '2')
}
