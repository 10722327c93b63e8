import { collect, fitLut, assign, GroupScratch } from '../../src/quant/kernel.js'
import { floatsToHalfBits } from '../../src/quant/half.js'
import { syntheticWeight } from '../../src/quant/synthetic.js'
const cpu = () => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}
const rows = 512,
  cols = 2048,
  ge = 8 * cols,
  G = rows / 8
const w = syntheticWeight('studentT', rows, cols, 1, true)
const sc = new GroupScratch()
// calibration loop
const h0 = new Uint16Array(w.length)
let t = cpu()
let acc = 0
for (let r = 0; r < 10; r++) for (let i = 0; i < h0.length; i++) acc += h0[i]
const cal = ((cpu() - t) / 10 / w.length) * 1e6
t = cpu()
const h = floatsToHalfBits(w)
const conv = ((cpu() - t) / w.length) * 1e6
for (const bits of [4, 6]) {
  const k = 1 << bits
  let tc = 0,
    tk = 0,
    ta = 0,
    tp = 0,
    us = 0
  const out = new Uint8Array(ge)
  for (let rep = 0; rep < 2; rep++) {
    tc = tk = ta = tp = us = 0
    for (let g = 0; g < G; g++) {
      let t = cpu()
      collect(h, g * ge, (g + 1) * ge, sc)
      tc += cpu() - t
      us += sc.u
      t = cpu()
      fitLut(sc, k)
      tk += cpu() - t
      t = cpu()
      assign(sc, k)
      ta += cpu() - t
      t = cpu()
      const tab = sc.indexOfHalf
      let o = 0
      if (bits === 4)
        for (let i = g * ge; i < (g + 1) * ge; i += 2) out[o++] = tab[h[i]] | (tab[h[i + 1]] << 4)
      else for (let i = g * ge; i < (g + 1) * ge; i++) out[o++] = tab[h[i]]
      tp += cpu() - t
    }
  }
  const ns = (x: number) => ((x / (G * ge)) * 1e6).toFixed(2)
  console.log(
    `b${bits}: u=${(us / G).toFixed(0)} per elem ns: collect ${ns(tc)} kmeans ${ns(tk)} assign ${ns(ta)} pack ${ns(tp)} | f32->f16 ${conv.toFixed(2)} | calib sum ${cal.toFixed(2)} | total ${ns(tc + tk + ta + tp)} (${(((tc + tk + ta + tp) / G) * 1000).toFixed(0)} us/group)`,
  )
}
void acc
