// Runs one fuzz target inside a worker thread (so a hang can be stopped and the heap is capped):
// fast-check draws inputs from the target's arbitrary with the given seed; the property is that
// parsing either succeeds or throws an AnemllError whose message is one non-empty line, and
// prints nothing.
// Each finished input bumps the shared counter the watchdog in run.ts reads.
import fc from 'fast-check'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'
import { AnemllError } from '../../src/util/errors.js'
import type { FuzzTarget } from './targets.js'

export interface WorkerJob {
  target: string
  seed: number
  runs: number
  /** Stop drawing new inputs after this long (bench runs); tests use a fixed count instead. */
  timeLimitMs?: number
  counter: Int32Array
  /** URL of the module whose TARGETS hold the target (default ./targets.ts). */
  module: string
}

export interface WorkerResult {
  tried: number
  failure?: string
}

const job = workerData as WorkerJob
const { TARGETS } = (await import(job.module)) as { TARGETS: FuzzTarget[] }
const target = TARGETS.find((t) => t.name === job.target)
if (!target) throw new Error(`no fuzz target '${job.target}'`)
const scratch = mkdtempSync(join(tmpdir(), 'anemll-fuzz-'))

// A parser talks to the user only through its error: anything printed is a failure too.
const printed: string[] = []
for (const level of ['log', 'info', 'warn', 'error'] as const)
  console[level] = (...args: unknown[]) => void printed.push(args.map(String).join(' '))

async function parses(input: Uint8Array): Promise<void> {
  printed.length = 0
  try {
    await target!.parse(input, scratch)
  } catch (e) {
    if (!(e instanceof AnemllError))
      throw new Error(`untyped ${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? e}`)
    if (!e.message || e.message.includes('\n'))
      throw new Error(`${e.name} message is not one line: ${JSON.stringify(e.message)}`)
  } finally {
    Atomics.add(job.counter, 0, 1)
  }
  if (printed.length) throw new Error(`printed to the console: ${printed[0].slice(0, 200)}`)
}

const hex = (b: Uint8Array) =>
  `${b.length} bytes: ${Buffer.from(b.subarray(0, 96)).toString('hex')}${b.length > 96 ? '…' : ''}`

const out = await fc.check(fc.asyncProperty(target.inputs(), parses), {
  seed: job.seed,
  numRuns: job.runs,
  interruptAfterTimeLimit: job.timeLimitMs,
  markInterruptAsFailure: false,
})
rmSync(scratch, { recursive: true, force: true })
const result: WorkerResult = { tried: out.numRuns }
if (out.failed) {
  const input = out.counterexample?.[0] as Uint8Array | undefined
  const error = (out.errorInstance as Error | undefined)?.message ?? String(out.errorInstance)
  result.failure = `${error}\n  shrunk input: ${input ? hex(input) : '?'}\n  replay: seed ${out.seed}, path '${out.counterexamplePath}'`
}
parentPort!.postMessage(result)
