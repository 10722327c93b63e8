// Dequantization throughput of each GGML type we read: random blocks (finite fp16 scales),
// 16 Mi elements per type, into a reused output buffer.
// Usage: npx tsx bench/checkpoint/dequant.ts

import { GGML_TYPES } from '../../src/formats/gguf-quants.js'
import { floatToHalf } from '../../src/util/fp16.js'

const ELEMENTS = 16 * 1024 * 1024
const out = new Float32Array(ELEMENTS)
let seed = 1
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31

for (const t of GGML_TYPES.values()) {
  if (!t.dequant) continue
  const blocks = ELEMENTS / t.blockSize
  const src = new Uint8Array(blocks * t.typeSize)
  for (let i = 0; i < src.length; i++) src[i] = (rand() * 256) | 0
  if (t.blockSize > 1) {
    // Every fp16 in a block header/footer is made a small finite scale.
    const at =
      t.name === 'Q6_K' ? [208] : t.name.endsWith('_1') || t.name.endsWith('_K') ? [0, 2] : [0]
    const dv = new DataView(src.buffer)
    for (let b = 0; b < blocks; b++)
      for (const o of at) dv.setUint16(b * t.typeSize + o, floatToHalf(rand() * 0.01), true)
  }
  t.dequant(src, out) // warm up
  const t0 = performance.now()
  t.dequant(src, out)
  const s = (performance.now() - t0) / 1000
  console.log(
    `${t.name.padEnd(5)} ${(ELEMENTS / s / 1e6).toFixed(0).padStart(5)} M elements/s  ` +
      `${(src.length / s / 1e9).toFixed(2)} GB/s in  ${((ELEMENTS * 4) / s / 1e9).toFixed(2)} GB/s out`,
  )
}
