// Runs the palettization kernel on every core. The calling thread works too and blocks (Atomics.wait)
// until every chunk of groups is done, so palettize() stays synchronous. Threads claim chunks from
// a shared counter; each group's output has fixed slots, so the bytes never depend on who ran what.
// If a worker never shows up or stalls, the calling thread finishes the job alone.
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { GroupJob, GroupScratch } from './kernel.js'
import { runGroups } from './native.js'

/** Control block: [next chunk to claim, chunks done], then one done flag per chunk. */
const NEXT = 0
const DONE = 1
const FLAGS = 2

/** A job as posted to workers: the shared arrays plus the chunking. */
export interface SharedJob {
  readonly job: GroupJob
  readonly ctrl: Int32Array
  readonly chunkGroups: number
  readonly chunks: number
}

function runChunk(s: SharedJob, c: number, scratch: GroupScratch): void {
  const g0 = c * s.chunkGroups
  runGroups(s.job, g0, Math.min(s.job.groups, g0 + s.chunkGroups), scratch)
  Atomics.store(s.ctrl, FLAGS + c, 1)
  Atomics.add(s.ctrl, DONE, 1)
  Atomics.notify(s.ctrl, DONE)
}

/** Claims and runs chunks until none are left; returns how many it ran. */
export function work(s: SharedJob, scratch: GroupScratch): number {
  let ran = 0
  for (let c = Atomics.add(s.ctrl, NEXT, 1); c < s.chunks; c = Atomics.add(s.ctrl, NEXT, 1)) {
    runChunk(s, c, scratch)
    ran++
  }
  return ran
}

let workers: Worker[] = []
/** Set when a worker failed (e.g. could not load): no more are started; this thread works alone. */
let failed = false

function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url))
  // Running from source under tsx (tests, benches): workers do not inherit its loader, so load it
  // first, then the .ts worker.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'))
  const url = JSON.stringify(new URL('./worker.ts', import.meta.url).href)
  return new Worker(`import(${tsx}).then((api) => api.register()).then(() => import(${url}))`, {
    eval: true,
  })
}

/** Up to `n` idle-able workers, started on first use; they never keep the process alive. */
function getWorkers(n: number): Worker[] {
  while (!failed && workers.length < n) {
    const w = startWorker()
    w.unref()
    const drop = () => {
      workers = workers.filter((x) => x !== w)
    }
    w.on('error', () => {
      failed = true
      drop()
    })
    w.on('exit', drop)
    workers.push(w)
  }
  return workers.slice(0, n)
}

/**
 * Starts `threads - 1` workers and resolves once each has answered, so a benchmark or test can
 * keep worker start-up out of its measurement.
 */
export async function warmPool(threads = defaultThreads()): Promise<void> {
  await Promise.all(
    getWorkers(threads - 1).map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once('message', () => resolve())
          w.once('error', reject)
          w.postMessage('ping')
        }),
    ),
  )
}

let workerChunks = 0

/** Chunks of the last job that workers ran (the rest ran on the calling thread). */
export const lastJobWorkerChunks = (): number => workerChunks

/** Stops the pool's workers (tests and benches; the process can also just exit). */
export async function closePool(): Promise<void> {
  const ws = workers
  workers = []
  await Promise.all(ws.map((w) => w.terminate()))
}

/** Default thread count: every core. */
export const defaultThreads = (): number => availableParallelism()

/** After this long without a finished chunk the caller stops waiting and does the rest itself. */
const STALL_MS = 30_000

/**
 * Runs every group of `job` on `threads` threads (this one included). The job's arrays must be
 * backed by SharedArrayBuffers when threads > 1.
 */
export function runJob(job: GroupJob, threads: number, scratch: GroupScratch): void {
  // Chunks start on multiples of 8 groups, so every chunk's packed indices start on a byte.
  const chunkGroups = 8 * Math.max(1, Math.round(2 ** 18 / (8 * job.groupElems)))
  const chunks = Math.ceil(job.groups / chunkGroups)
  workerChunks = 0
  if (threads <= 1 || chunks <= 1) {
    runGroups(job, 0, job.groups, scratch)
    return
  }
  const ctrl = new Int32Array(new SharedArrayBuffer(4 * (FLAGS + chunks)))
  const shared: SharedJob = { job, ctrl, chunkGroups, chunks }
  for (const w of getWorkers(Math.min(threads, chunks) - 1)) w.postMessage(shared)
  const mine = work(shared, scratch)
  let done = Atomics.load(ctrl, DONE)
  let since = Date.now()
  while (done < chunks) {
    Atomics.wait(ctrl, DONE, done, 1000)
    const now = Atomics.load(ctrl, DONE)
    if (now !== done) {
      done = now
      since = Date.now()
    } else if (Date.now() - since > STALL_MS) {
      // A worker died or is starved: redo its chunks here (same bytes if it ever finishes).
      for (let c = 0; c < chunks; c++) {
        if (Atomics.load(ctrl, FLAGS + c) === 0) runChunk(shared, c, scratch)
      }
      return
    }
  }
  workerChunks = chunks - mine
}
