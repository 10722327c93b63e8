// Walks a Llama-3.1-8B-shaped sharded checkpoint tensor by tensor (read + bf16 → f32) and
// reports throughput and peak RSS against the largest tensor, twice: with a fresh Float32Array
// per tensor (readTensor(name)), then reusing one buffer (readTensor(name, out)). The checkpoint
// is generated (sparse, no disk cost) by make-8b.ts when the folder does not exist.
//
// Usage: npx tsx bench/checkpoint/walk-8b.ts [dir] [--mode fresh|reuse]
// Each mode runs in its own process so the peak RSS of one does not hide the other's.

import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { availableParallelism, homedir, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js'
import { make8b } from './make-8b.js'

const GB = 1e9
const args = process.argv.slice(2)
const mode = args.includes('--mode') ? args[args.indexOf('--mode') + 1] : undefined
const dir =
  args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--mode') ??
  join(process.env.ANEMLL_CACHE ?? join(homedir(), '.cache/anemll'), 'bench/llama-3.1-8b-synthetic')

async function walk(reuse: boolean): Promise<void> {
  const rssBefore = process.resourceUsage().maxRSS * 1024
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const ck = await openCheckpoint(dir)
  const names = ck.tensorNames()
  const elements = (n: string) => ck.tensorInfo(n).shape.reduce((a, b) => a * b, 1)
  const largest = Math.max(...names.map(elements)) * 4
  const out = reuse ? new Float32Array(largest / 4) : undefined
  let stored = 0
  let check = 0
  for (const name of names) {
    const x = ck.readTensor(name, out)
    check += x[0] + x[x.length - 1] // use the result
    stored += ck.tensorInfo(name).bytes
  }
  const secs = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const peak = process.resourceUsage().maxRSS * 1024
  if (Number.isNaN(check)) console.log('note: the data holds NaNs')
  console.log(`mode         ${reuse ? 'reuse one output buffer' : 'fresh Float32Array per tensor'}`)
  console.log(
    `tensors      ${names.length} in ${secs.toFixed(1)} s = ${(names.length / secs).toFixed(1)} tensors/s`,
  )
  console.log(
    `throughput   ${(stored / GB).toFixed(2)} GB bf16 read → ${((stored * 2) / GB).toFixed(2)} GB f32: ` +
      `${(stored / GB / secs).toFixed(2)} GB/s in, ${((stored * 2) / GB / secs).toFixed(2)} GB/s out`,
  )
  console.log(
    `cpu          ${(cpu.user / 1e6).toFixed(1)} s user + ${(cpu.system / 1e6).toFixed(1)} s system ` +
      `(load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores)`,
  )
  console.log(`largest      ${(largest / GB).toFixed(2)} GB (one f32 tensor)`)
  console.log(
    `peak RSS     ${(peak / GB).toFixed(2)} GB = ${(peak / largest).toFixed(2)} × largest ` +
      `(${(rssBefore / GB).toFixed(2)} GB before opening)`,
  )
}

if (mode) await walk(mode === 'reuse')
else {
  if (!existsSync(join(dir, 'model.safetensors.index.json'))) make8b(dir)
  console.log(`checkpoint   ${dir}`)
  for (const m of ['fresh', 'reuse']) {
    console.log('')
    const r = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), dir, '--mode', m],
      {
        stdio: 'inherit',
      },
    )
    if (r.status !== 0) process.exit(r.status ?? 1)
  }
}
