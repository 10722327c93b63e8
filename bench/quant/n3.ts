import { palettize } from '../../src/quant/palettize.js'
import { warmPool, lastJobWorkerChunks } from '../../src/quant/pool.js'
import { syntheticWeight } from '../../src/quant/synthetic.js'
await warmPool(2)
const w = syntheticWeight('studentT', 8192, 2048, 1, true)
const copy = new Float32Array(new SharedArrayBuffer(w.byteLength))
for (let r = 0; r < 4; r++) {
  const cpu = () => {
    const c = process.cpuUsage()
    return (c.user + c.system) / 1000
  }
  let c0 = cpu()
  let t = performance.now()
  copy.set(w)
  const tc = performance.now() - t
  c0 = cpu()
  t = performance.now()
  palettize(w, [8192, 2048], { bits: 4, groupSize: 8 }, { threads: 1 })
  const t1 = performance.now() - t
  const c1 = cpu() - c0
  c0 = cpu()
  t = performance.now()
  palettize(w, [8192, 2048], { bits: 4, groupSize: 8 }, { threads: 2 })
  const t2 = performance.now() - t
  const c2 = cpu() - c0
  console.log(
    `copy ${tc.toFixed(0)} ms, 1 thread ${t1.toFixed(0)} ms, 2 threads ${t2.toFixed(0)} ms (worker chunks ${lastJobWorkerChunks()}) cpu 1t ${c1.toFixed(0)} 2t ${c2.toFixed(0)}`,
  )
}
