// Worker side of teacher.ts: opens the converted parts once, then for each job fills the cache
// with the prompt through `prefill` and feeds the forced tokens through `infer`.
import { parentPort, workerData } from 'node:worker_threads'
import { openParts } from './parts.js'
import type { TeacherJob } from './teacher.js'

const { dir, jobs } = workerData as { dir: string; jobs: [number, TeacherJob][] }
const m = openParts(dir)
for (const [index, job] of jobs) {
  const { prompt, forced } = job
  m.reset()
  const head = prompt.length - 1
  for (let p = 0; p < head; p += m.batch) m.prefill(prompt.slice(p, Math.min(head, p + m.batch)), p)
  const feed = [prompt[head], ...forced.slice(0, -1)]
  const logits = feed.map((t, i) => m.step(t, head + i))
  parentPort!.postMessage(
    { index, logits },
    logits.map((l) => l.buffer as ArrayBuffer),
  )
}
