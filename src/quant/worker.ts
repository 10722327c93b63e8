// Worker thread of the palettization pool (pool.ts): runs chunks of the jobs it is sent.
import { parentPort } from 'node:worker_threads'
import { GroupScratch } from './kernel.js'
import { work, type SharedJob } from './pool.js'

const scratch = new GroupScratch()
parentPort?.on('message', (job: SharedJob | 'ping') => {
  if (job === 'ping') parentPort?.postMessage('pong')
  else work(job, scratch)
})
