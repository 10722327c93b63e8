// Runs a fuzz target in a worker thread under a watchdog: the worker's heap is capped (bounded
// allocation) and a worker whose input counter stops moving for `hangMs` is stopped and reported
// as a hang (with the seed and input number to replay it). The watchdog's clock is injectable.
import { Worker } from 'node:worker_threads'
import type { WorkerJob, WorkerResult } from './worker.js'

export interface FuzzOptions {
  seed: number
  runs: number
  timeLimitMs?: number
  /** No input finished for this long = a hang (default 10 s). */
  hangMs?: number
  /** Heap cap of the worker in MiB (default 512). */
  heapMb?: number
  /** Watchdog tick (default 250 ms); tests inject their own timer. */
  every?: (fn: () => void) => () => void
  /** URL of the module exporting TARGETS (default ./targets.ts). */
  module?: string
}

export interface FuzzReport {
  target: string
  tried: number
  failure?: string
}

const defaultEvery = (fn: () => void) => {
  const t = setInterval(fn, 250)
  return () => clearInterval(t)
}

export function fuzz(target: string, o: FuzzOptions): Promise<FuzzReport> {
  const counter = new Int32Array(new SharedArrayBuffer(4))
  const job: WorkerJob = {
    target,
    seed: o.seed,
    runs: o.runs,
    timeLimitMs: o.timeLimitMs,
    counter,
    module: o.module ?? new URL('./targets.ts', import.meta.url).href,
  }
  // Workers do not inherit tsx's loader: register it, then import the .ts file.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'))
  const url = JSON.stringify(new URL('./worker.ts', import.meta.url).href)
  const worker = new Worker(
    `import(${tsx}).then((api) => api.register()).then(() => import(${url}))`,
    {
      eval: true,
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: o.heapMb ?? 512 },
    },
  )
  return new Promise((resolve) => {
    let seen = -1
    let still = 0
    let done = false
    const finish = (r: FuzzReport) => {
      if (done) return
      done = true
      stop()
      resolve(r)
    }
    const tick = 250
    const stop = (o.every ?? defaultEvery)(() => {
      const n = Atomics.load(counter, 0)
      still = n === seen ? still + tick : 0
      seen = n
      if (still >= (o.hangMs ?? 10_000)) {
        void worker.terminate()
        finish({
          target,
          tried: n,
          failure: `no input finished for ${still} ms: a hang at input ${n + 1} (seed ${o.seed})`,
        })
      }
    })
    worker.on('message', (r: WorkerResult) => finish({ target, ...r }))
    worker.on('error', (e) =>
      finish({ target, tried: Atomics.load(counter, 0), failure: `worker died: ${e.message}` }),
    )
    worker.on('exit', (code) =>
      finish({ target, tried: Atomics.load(counter, 0), failure: `worker exited (${code})` }),
    )
  })
}
