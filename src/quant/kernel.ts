// The palettization kernel: for each group of a tensor (fp16 bits), histogram the values by bit
// pattern (a counting sort; no comparison sort), run 1-D k-means on the weighted distinct values,
// round the LUT to fp16, map every distinct value to its nearest LUT entry, then write the packed
// indices. Groups are independent, so any split of the groups over threads gives the same bytes.
// With importance weights (calibration, see calibrate.ts) a value's weight in the k-means is the
// sum of its elements' importances instead of its count: the same code, weighted sums.
import { floatsToHalfs, floatToHalf, halfsToFloats } from '../util/fp16.js'
import { kmeans1d, KMeansScratch, type Prefix } from './kmeans1d.js'

const HALF_TO_FLOAT = halfsToFloats(Uint16Array.from({ length: 65536 }, (_, i) => i))

/** One tensor's palettization, laid out so that every group writes only its own slots. */
export interface GroupJob {
  /** The weight, row-major: fp16 bits, or float32 (rounded to fp16 as it is read). */
  readonly src: Uint16Array | Float32Array
  readonly bits: number
  /** Elements per group (group size × elements per output channel, or all for per-tensor). */
  readonly groupElems: number
  readonly groups: number
  /** Packed indices, LSB-first, `ceil(groups · groupElems · bits / 8)` bytes. */
  readonly out: Uint8Array
  /** fp16 bits, `groups · 2^bits`: each group's LUT, ascending. */
  readonly lut: Uint16Array
  /** Per group: [Σx², Σ(x − x̂)²]; NaN in the first slot marks a group with NaN or ±Inf. */
  readonly err: Float64Array
  /**
   * Importance of each element by its place within an output channel (length = elements per
   * output channel; positive), or undefined for every weight counting once (data-free).
   */
  readonly importance?: Float64Array
}

/** Per-thread scratch: histogram, distinct values with prefix sums, k-means state. */
export class GroupScratch implements Prefix {
  u = 0
  readonly count = new Uint32Array(65536)
  /** Summed importance per bit pattern (weighted jobs only). */
  readonly weight = new Float64Array(65536)
  readonly seen = new Uint32Array(2048)
  /** fp16 bits of the distinct values, ascending by value. */
  readonly halves = new Uint16Array(65536)
  readonly v = new Float64Array(65536)
  readonly s0 = new Float64Array(65537)
  readonly s1 = new Float64Array(65537)
  readonly s2 = new Float64Array(65537)
  /** LUT index of each fp16 bit pattern present in the group. */
  readonly indexOfHalf = new Uint8Array(65536)
  readonly centroids = new Float64Array(256)
  readonly lutValues = new Float64Array(256)
  readonly nextDistinct = new Int32Array(256)
  readonly kmeans = new KMeansScratch()
  /** A float32 group rounded to fp16 (see palettizeGroups). */
  groupHalves = new Uint16Array(0)
}

/** Appends distinct value `h` (of total weight `c`) to the sorted list and its prefix sums. */
function emit(s: GroupScratch, u: number, h: number, c: number): void {
  const x = HALF_TO_FLOAT[h]
  s.halves[u] = h
  s.v[u] = x
  s.s0[u + 1] = s.s0[u] + c
  s.s1[u + 1] = s.s1[u] + c * x
  s.s2[u + 1] = s.s2[u] + c * x * x
}

/**
 * Histograms src[start, end) by bit pattern and reads the distinct values back in ascending
 * order: negatives are the patterns 0xffff down to 0x8001, then 0x0000 up to 0x7fff (-0 counts
 * as +0). The bitmap of seen patterns is set without a branch (first sightings are unpredictable).
 * With `importance`, element start + i weighs importance[i mod its length] instead of 1.
 */
export function collect(
  src: Uint16Array,
  start: number,
  end: number,
  s: GroupScratch,
  importance?: Float64Array,
): void {
  const { count, seen, weight } = s
  if (importance) {
    const period = importance.length
    for (let i = start, c = 0; i < end; i++) {
      const h = src[i]
      weight[h] += importance[c]
      seen[h >>> 5] |= 1 << (h & 31)
      if (++c === period) c = 0
    }
    weight[0] += weight[0x8000]
    if (weight[0x8000] !== 0) seen[0] |= 1
    weight[0x8000] = 0
  } else {
    for (let i = start; i < end; i++) {
      const h = src[i]
      count[h]++
      seen[h >>> 5] |= 1 << (h & 31)
    }
    count[0] += count[0x8000]
    if (count[0x8000] !== 0) seen[0] |= 1
    count[0x8000] = 0
  }
  // Weighted jobs read `weight`, the others `count`; both are zero again once read.
  const w = importance ? weight : count
  seen[1024] &= ~1
  let u = 0
  for (let k = 2047; k >= 1024; k--) {
    let word = seen[k]
    if (word === 0) continue
    seen[k] = 0
    while (word !== 0) {
      const b = 31 - Math.clz32(word)
      const h = (k << 5) | b
      emit(s, u++, h, w[h])
      w[h] = 0
      word ^= 1 << b
    }
  }
  for (let k = 0; k < 1024; k++) {
    let word = seen[k]
    if (word === 0) continue
    seen[k] = 0
    while (word !== 0) {
      const low = word & -word
      const h = (k << 5) | (31 - Math.clz32(low))
      emit(s, u++, h, w[h])
      w[h] = 0
      word ^= low
    }
  }
  s.u = u
}

const isFiniteHalf = (h: number) => (h & 0x7c00) !== 0x7c00

/** Fills the group's LUT: fp16 values, ascending, padded with the largest when u < entries. */
export function fitLut(s: GroupScratch, entries: number): void {
  const { u, v, centroids, lutValues } = s
  if (u <= entries) {
    for (let j = 0; j < entries; j++) lutValues[j] = v[Math.min(j, u - 1)]
    return
  }
  kmeans1d(s, entries, centroids, s.kmeans)
  // `+ 0` turns a centroid that rounds to -0 into +0 (one spelling of zero in the LUT).
  for (let j = 0; j < entries; j++) lutValues[j] = HALF_TO_FLOAT[floatToHalf(centroids[j])] + 0
}

/**
 * Maps each distinct value to its nearest LUT entry (the first one on ties) and returns the
 * group's squared error. LUT and values are fp16, so every difference is exact in float64.
 */
export function assign(s: GroupScratch, entries: number): number {
  const { u, v, halves, s0, lutValues: r, nextDistinct, indexOfHalf } = s
  let next = entries
  for (let j = entries - 1; j >= 0; j--) {
    nextDistinct[j] = next
    if (j === 0 || r[j - 1] !== r[j]) next = j
  }
  let j = 0
  let noise = 0
  for (let i = 0; i < u; i++) {
    const x = v[i]
    for (let n = nextDistinct[j]; n < entries && Math.abs(x - r[n]) < Math.abs(x - r[j]);) {
      j = n
      n = nextDistinct[j]
    }
    indexOfHalf[halves[i]] = j
    const d = x - r[j]
    noise += (s0[i + 1] - s0[i]) * d * d
  }
  indexOfHalf[0x8000] = indexOfHalf[0]
  return noise
}

/** Bit-packs LUT indices LSB-first; carries a partial byte between groups. */
class Packer {
  acc = 0
  nacc = 0
  constructor(
    readonly out: Uint8Array,
    public o: number,
    readonly bits: number,
  ) {}

  run(src: Uint16Array, start: number, end: number, table: Uint8Array): void {
    const { out, bits } = this
    let { o, acc, nacc } = this
    let i = start
    if (nacc === 0 && bits === 4) {
      for (; i + 1 < end; i += 2) out[o++] = table[src[i]] | (table[src[i + 1]] << 4)
    } else if (nacc === 0 && bits === 8) {
      for (; i < end; i++) out[o++] = table[src[i]]
    }
    for (; i < end; i++) {
      acc |= table[src[i]] << nacc
      nacc += bits
      if (nacc >= 8) {
        out[o++] = acc & 0xff
        acc >>>= 8
        nacc -= 8
      }
    }
    this.o = o
    this.acc = acc
    this.nacc = nacc
  }

  flush(): void {
    if (this.nacc > 0) this.out[this.o] = this.acc & 0xff
  }
}

/**
 * Palettizes groups [g0, g1) of `job`. g0's first index must start on a byte boundary
 * (g0 · groupElems · bits ≡ 0 mod 8), and so must g1's unless g1 is the last group.
 */
export function palettizeGroups(job: GroupJob, g0: number, g1: number, s: GroupScratch): void {
  const { bits, groupElems, lut, err } = job
  const entries = 1 << bits
  const packer = new Packer(job.out, Math.floor((g0 * groupElems * bits) / 8), bits)
  for (let g = g0; g < g1; g++) {
    let src = job.src
    let start = g * groupElems
    if (src instanceof Float32Array) {
      // Float32 jobs are meant for the native kernel; should it be missing here, round the group.
      if (s.groupHalves.length < groupElems) s.groupHalves = new Uint16Array(groupElems)
      src = floatsToHalfs(src.subarray(start, start + groupElems), s.groupHalves)
      start = 0
    }
    collect(src, start, start + groupElems, s, job.importance)
    let signal = s.s2[s.u]
    if (!isFiniteHalf(s.halves[0]) || !isFiniteHalf(s.halves[s.u - 1])) {
      signal = NaN // reported by the caller; indices and LUT stay zero
      s.indexOfHalf.fill(0)
      s.lutValues.fill(0)
    } else {
      fitLut(s, entries)
    }
    err[2 * g] = signal
    err[2 * g + 1] = Number.isNaN(signal) ? 0 : assign(s, entries)
    for (let j = 0; j < entries; j++) lut[g * entries + j] = floatToHalf(s.lutValues[j])
    packer.run(src, start, start + groupElems, s.indexOfHalf)
  }
  packer.flush()
}
