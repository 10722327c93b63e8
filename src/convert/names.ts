// ANEMLL's output file names (contract §1.7; 0.3.5 §1.5): the runtimes and the iOS/macOS app find
// parts by these patterns, so they are part of the interface.
import type { LutSpec } from '../arch/weights.js'

const lutSuffix = (lut?: LutSpec) => (lut ? `_lut${lut.bits}` : '')
const two = (n: number) => String(n).padStart(2, '0')

export const partNames = {
  embeddings: (prefix: string, lut?: LutSpec) => `${prefix}_embeddings${lutSuffix(lut)}`,
  lmHead: (prefix: string, lut?: LutSpec) => `${prefix}_lm_head${lutSuffix(lut)}`,
  /** Combined infer+prefill chunk i (1-based) of n. */
  chunk: (prefix: string, i: number, n: number, lut?: LutSpec) =>
    `${prefix}_FFN_PF${lutSuffix(lut)}_chunk_${two(i)}of${two(n)}`,
  monolithic: (prefix: string, lut?: LutSpec) => `${prefix}_monolithic_full${lutSuffix(lut)}`,
}
