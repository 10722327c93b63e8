// The palettizer written plainly, for tests to check the fast path against: per group, sort the
// fp16-rounded values, solve 1-D k-means exactly with the textbook O(k·n²) dynamic program over
// the distinct values, round the centroids to fp16, and give every weight its nearest entry.
// With importance, a distinct value's weight is the sum of its elements' importances, not a count.
// Slow (seconds for a few thousand distinct values per group); never used by the converter.
import { constant } from '../mil/builder.js'
import { tensor } from '../mil/types.js'
import { PackedBits } from '../mil/value.js'
import { floatToHalf, halfToFloat } from '../util/fp16.js'
import type { Palettized } from './palettize.js'
import { lutLayout, type LutSpec } from './spec.js'

const toHalf = (x: number) => {
  const v = halfToFloat(floatToHalf(x))
  return v === 0 ? 0 : v // -0 → +0
}

/** Exact 1-D k-means of weighted distinct values `xs` (ascending): the optimal k centroids. */
export function optimalCentroids(xs: number[], counts: number[], k: number): number[] {
  const n = xs.length
  const s0 = [0]
  const s1 = [0]
  const s2 = [0]
  for (let i = 0; i < n; i++) {
    s0.push(s0[i] + counts[i])
    s1.push(s1[i] + counts[i] * xs[i])
    s2.push(s2[i] + counts[i] * xs[i] * xs[i])
  }
  // SSE of xs[a..b) around its mean.
  const cost = (a: number, b: number) => {
    const sum = s1[b] - s1[a]
    return s2[b] - s2[a] - (sum * sum) / (s0[b] - s0[a])
  }
  // best[j][i]: least SSE of xs[0..i) in j clusters; from[j][i]: where the last cluster starts.
  const best = [[0, ...new Array<number>(n).fill(Infinity)]]
  const from: number[][] = [[]]
  for (let j = 1; j <= k; j++) {
    best.push(new Array<number>(n + 1).fill(Infinity))
    from.push(new Array<number>(n + 1).fill(0))
    for (let i = j; i <= n; i++) {
      for (let m = j - 1; m < i; m++) {
        const c = best[j - 1][m] + cost(m, i)
        if (c < best[j][i]) {
          best[j][i] = c
          from[j][i] = m
        }
      }
    }
  }
  const centroids: number[] = []
  for (let j = k, i = n; j >= 1; j--) {
    const m = from[j][i]
    centroids.unshift((s1[i] - s1[m]) / (s0[i] - s0[m]))
    i = m
  }
  return centroids
}

/** Nearest LUT entry (the first one on ties). */
function nearest(lut: number[], x: number): number {
  let j = 0
  for (let i = 1; i < lut.length; i++) if (Math.abs(x - lut[i]) < Math.abs(x - lut[j])) j = i
  return j
}

/**
 * Same contract as `palettize` (float32 input only), by the plain algorithm above.
 * @example palettizeReference(w, [64, 128, 1, 1], { bits: 4, groupSize: 8 })
 */
export function palettizeReference(
  weight: Float32Array,
  shape: readonly number[],
  spec: LutSpec,
  importance?: Float64Array,
): Palettized {
  const { groups, groupElems, lutShape } = lutLayout(shape, spec)
  const entries = 2 ** spec.bits
  const indices = new Array<number>(weight.length)
  const lut: number[] = []
  let signal = 0
  let noise = 0
  const imp = (i: number) => (importance ? importance[i % importance.length] : 1)
  for (let g = 0; g < groups; g++) {
    const xs = Array.from(weight.subarray(g * groupElems, (g + 1) * groupElems), toHalf)
    // Stable sort by value: equal values sum their importances in element order, as the kernel.
    const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b] || a - b)
    const distinct: number[] = []
    const counts: number[] = []
    for (const i of order) {
      const x = xs[i]
      if (distinct.length > 0 && distinct[distinct.length - 1] === x)
        counts[counts.length - 1] += imp(i)
      else {
        distinct.push(x)
        counts.push(imp(i))
      }
    }
    const table =
      distinct.length <= entries
        ? Array.from({ length: entries }, (_, j) => distinct[Math.min(j, distinct.length - 1)])
        : optimalCentroids(distinct, counts, entries).map(toHalf)
    lut.push(...table)
    xs.forEach((x, i) => {
      const j = nearest(table, x)
      indices[g * groupElems + i] = j
      signal += imp(i) * x * x
      noise += imp(i) * (x - table[j]) ** 2
    })
  }
  const data = spec.bits === 8 ? Uint8Array.from(indices) : PackedBits.pack(indices, spec.bits)
  return {
    indices: { type: tensor(`uint${spec.bits}`, [...shape]), data },
    lut: constant('fp16', lutShape, lut),
    sqnrDb: noise === 0 ? Infinity : 10 * Math.log10(signal / noise),
  }
}

/** The dense weight a palettized one stands for: `lut[group(i), indices[i]]` (float32 values). */
export function dequantize(p: Palettized): Float32Array {
  const shape = p.indices.type.shape as number[]
  const n = shape.reduce((a, b) => a * b, 1)
  const lut = p.lut.data as Uint16Array
  const entries = (p.lut.type.shape as number[]).at(-2)!
  const perGroup = n / (lut.length / entries)
  const idx = p.indices.data
  const at = (i: number) => (idx instanceof PackedBits ? idx.get(i) : (idx as Uint8Array)[i])
  return Float32Array.from({ length: n }, (_, i) =>
    halfToFloat(lut[Math.floor(i / perGroup) * entries + at(i)]),
  )
}
