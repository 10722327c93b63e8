// Palettization speed: the fast path (1 thread and all cores) vs the plain reference vs
// coremltools' palettize_weights (oracle venv), on Llama-3.2-1B-shaped weights; extrapolates
// the time for the whole model's LUT weights (LUT4 FFN chunks, LUT6 head).
//
//   npx tsx bench/quant/palettize.ts [--quick] [--no-reference] [--no-coremltools]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findPython } from '../../test/oracle/python.js'
import { palettize } from '../../src/quant/palettize.js'
import { kernelName } from '../../src/quant/native.js'
import { closePool, defaultThreads, warmPool } from '../../src/quant/pool.js'
import { palettizeReference } from '../../src/quant/reference.js'
import type { LutBits } from '../../src/quant/spec.js'
import { syntheticWeight } from '../../src/quant/synthetic.js'
import { floatsToHalfs } from '../../src/util/fp16.js'

const args = new Set(process.argv.slice(2))
const quick = args.has('--quick')

// Llama-3.2-1B: 16 layers × (q, o 2048² + k, v 512×2048 + gate, up, down 8192×2048) at LUT4,
// and the 128256×2048 LM head at LUT6 (split in 8 parts of 16032 rows, as ANEMLL does).
const LLAMA_1B = {
  lut4: 16 * (2 * 2048 * 2048 + 2 * 512 * 2048 + 3 * 8192 * 2048),
  lut6: 128256 * 2048,
}

interface Case {
  name: string
  rows: number
  cols: number
  bits: LutBits
  /** Rows the slow methods run on (their rate is extrapolated per weight). */
  sliceRows: { reference: number; coremltools: number }
}

const CASES: Case[] = [
  {
    name: 'up_proj 8192×2048 LUT4,8',
    rows: quick ? 1024 : 8192,
    cols: 2048,
    bits: 4,
    sliceRows: { reference: 8, coremltools: 32 },
  },
  {
    name: 'lm_head part 16032×2048 LUT6,8',
    rows: quick ? 1024 : 16032,
    cols: 2048,
    bits: 6,
    sliceRows: { reference: 8, coremltools: 16 },
  },
]

const cpuMs = () => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}

function timed<T>(f: () => T): { value: T; wall: number; cpu: number } {
  const c0 = cpuMs()
  const t0 = performance.now()
  const value = f()
  return { value, wall: performance.now() - t0, cpu: cpuMs() - c0 }
}

const OVERSUBSCRIBED = 'the machine is busy (load average ≥ cores): wall times are inflated'
const OK_PY = findPython()

function coremltools(w: Float32Array, rows: number, cols: number, bits: number) {
  if (!OK_PY || args.has('--no-coremltools')) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'anemll-bench-'))
  try {
    const file = join(dir, 'w.f16')
    const h = floatsToHalfs(w.subarray(0, rows * cols))
    writeFileSync(file, new Uint8Array(h.buffer))
    const script = fileURLToPath(
      new URL('../../src/quant/testdata/palettize_oracle.py', import.meta.url),
    )
    const out = execFileSync(
      OK_PY,
      [script, '--time', file, `${rows}`, `${cols}`, `${bits}`, '8'],
      {
        encoding: 'utf8',
        env: { ...process.env, TQDM_DISABLE: '1' },
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    )
    return JSON.parse(out.trim().split('\n').pop()!) as { seconds: number; sqnrDb: number }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const rate = (weights: number, ms: number) => (weights / ms) * 1000
const fmtRate = (r: number) =>
  r >= 1e6 ? `${(r / 1e6).toFixed(2)} M weights/s` : `${(r / 1e3).toFixed(2)} k weights/s`

async function main() {
  const threads = defaultThreads()
  await warmPool(threads)
  const load = (await import('node:os')).loadavg()[0]
  console.log(`kernel: ${kernelName()}, threads: ${threads}, load average ${load.toFixed(1)}`)
  if (load >= threads) console.log(`note: ${OVERSUBSCRIBED}`)
  const rates: Record<number, number> = {}
  // CPU time per weight on one thread: robust to other processes competing for the cores.
  const cpuPerWeight: Record<number, number> = {}
  for (const c of CASES) {
    const n = c.rows * c.cols
    const w = syntheticWeight('studentT', c.rows, c.cols, 1, true)
    const spec = { bits: c.bits, groupSize: 8 }
    palettize(w.subarray(0, 64 * c.cols), [64, c.cols], spec) // JIT warm-up
    const one = timed(() => palettize(w, [c.rows, c.cols], spec, { threads: 1 }))
    const all = timed(() => palettize(w, [c.rows, c.cols], spec, { threads }))
    rates[c.bits] = rate(n, all.wall)
    cpuPerWeight[c.bits] = one.cpu / 1000 / n
    console.log(`\n${c.name} (${(n / 1e6).toFixed(1)} M weights, Student-t with row scales)`)
    console.log(
      `  fast, 1 thread:   ${fmtRate(rate(n, one.wall))} (wall ${one.wall.toFixed(0)} ms, ` +
        `cpu ${one.cpu.toFixed(0)} ms)  SQNR ${one.value.sqnrDb.toFixed(3)} dB`,
    )
    console.log(
      `  fast, ${threads} threads:  ${fmtRate(rate(n, all.wall))} (wall ${all.wall.toFixed(0)} ms)` +
        `  ×${(one.wall / all.wall).toFixed(2)} vs 1 thread`,
    )
    if (!args.has('--no-reference')) {
      const r = c.sliceRows.reference
      const slice = w.subarray(0, r * c.cols)
      const fast = palettize(slice, [r, c.cols], spec, { threads: 1 })
      const ref = timed(() => palettizeReference(slice, [r, c.cols], spec))
      console.log(
        `  reference (${r} rows): ${fmtRate(rate(r * c.cols, ref.wall))}; fast path is ` +
          `×${(rate(n, one.wall) / rate(r * c.cols, ref.wall)).toFixed(0)} per thread; SQNR ` +
          `${fast.sqnrDb.toFixed(4)} vs exact ${ref.value.sqnrDb.toFixed(4)} dB on the slice`,
      )
    }
    const rows = c.sliceRows.coremltools
    const ct = coremltools(w, rows, c.cols, c.bits)
    if (ct) {
      const fast = palettize(w.subarray(0, rows * c.cols), [rows, c.cols], spec, { threads: 1 })
      const r = rate(rows * c.cols, ct.seconds * 1000)
      console.log(
        `  coremltools palettize_weights (${rows} rows, 1 process): ${fmtRate(r)}; fast path is ` +
          `×${(rate(n, one.wall) / r).toFixed(0)} per thread; SQNR ${fast.sqnrDb.toFixed(4)} vs ` +
          `coremltools ${ct.sqnrDb.toFixed(4)} dB on the slice`,
      )
    } else {
      console.log('  coremltools: skipped (no oracle Python, or --no-coremltools)')
    }
  }
  const seconds = LLAMA_1B.lut4 / rates[4] + LLAMA_1B.lut6 / rates[6]
  const coreSeconds = LLAMA_1B.lut4 * cpuPerWeight[4] + LLAMA_1B.lut6 * cpuPerWeight[6]
  console.log(
    `\nLlama-3.2-1B LUT weights (${(LLAMA_1B.lut4 / 1e9).toFixed(3)} B at LUT4 + ` +
      `${(LLAMA_1B.lut6 / 1e9).toFixed(3)} B at LUT6):\n` +
      `  at the measured ${threads}-thread rates: ${seconds.toFixed(1)} s\n` +
      `  from 1-thread CPU time: ${coreSeconds.toFixed(1)} core-seconds, ` +
      `${(coreSeconds / threads).toFixed(1)} s on ${threads} idle cores`,
  )
  await closePool()
}

await main()
