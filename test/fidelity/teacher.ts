// Teacher forcing on worker threads (one per core): for each job, the logits our converted model
// gives at the prompt's last position and after each forced token. Our greedy continuation
// equals the forced tokens exactly as long as each argmax equals the next forced token.
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'

/** A prompt and the continuation to force after it. */
export interface TeacherJob {
  prompt: readonly number[]
  forced: readonly number[]
}

function startWorker(data: unknown): Worker {
  // Under tsx (tests) workers do not inherit its loader: register it, then import the .ts file.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'))
  const url = JSON.stringify(new URL('./teacher-worker.ts', import.meta.url).href)
  return new Worker(`import(${tsx}).then((api) => api.register()).then(() => import(${url}))`, {
    eval: true,
    workerData: data,
  })
}

/**
 * logits[j][i]: the logits after job j's prompt and its first i forced tokens (so they predict
 * forced[i]). Jobs are spread round-robin over up to `threads` workers, each loading the parts.
 */
export async function teacherForcedLogits(
  dir: string,
  jobs: readonly TeacherJob[],
  threads = availableParallelism(),
): Promise<Float32Array[][]> {
  const out: Float32Array[][] = new Array(jobs.length)
  const n = Math.max(1, Math.min(threads, jobs.length))
  const shares = Array.from({ length: n }, (_, w) =>
    jobs.flatMap((job, j) => (j % n === w ? [[j, job] as const] : [])),
  )
  await Promise.all(
    shares.map(
      (share) =>
        new Promise<void>((done, fail) => {
          const w = startWorker({ dir, jobs: share })
          w.on('message', (m: { index: number; logits: Float32Array[] }) => {
            out[m.index] = m.logits
          })
          w.on('error', fail)
          w.on('exit', (code) =>
            code === 0 ? done() : fail(new Error(`teacher worker exited with code ${code}`)),
          )
        }),
    ),
  )
  return out
}
