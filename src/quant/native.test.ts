import assert from 'node:assert/strict'
import { test } from 'node:test'
import { floatsToHalfs } from '../util/fp16.js'
import { GroupScratch, palettizeGroups, type GroupJob } from './kernel.js'
import { nativeKernel } from './native.js'
import { LUT_BITS } from './spec.js'
import { DISTRIBUTIONS, rng, syntheticWeight, type Distribution } from './synthetic.js'

const skip = nativeKernel() ? false : 'native kernel not built (npm run build:native)'

function job(src: Uint16Array, bits: number, groupElems: number): GroupJob {
  const groups = src.length / groupElems
  return {
    src,
    bits,
    groupElems,
    groups,
    out: new Uint8Array(Math.ceil((src.length * bits) / 8)),
    lut: new Uint16Array(groups << bits),
    err: new Float64Array(2 * groups),
  }
}

/**
 * Runs both kernels on groups [g0, g1) and checks every output byte: TypeScript on fp16 bits,
 * native on the same bits or on the float32 values (rounded to fp16 as it reads them).
 */
function same(
  src: Uint16Array | Float32Array,
  bits: number,
  groupElems: number,
  what: string,
  g0 = 0,
  g1?: number,
) {
  const halfs = src instanceof Float32Array ? floatsToHalfs(src) : src
  const a = job(halfs, bits, groupElems)
  const b = job(halfs, bits, groupElems)
  const end = g1 ?? a.groups
  palettizeGroups(a, g0, end, new GroupScratch())
  nativeKernel()!.palettizeGroups(src, bits, groupElems, g0, end, b.out, b.lut, b.err)
  assert.deepEqual(b.lut, a.lut, `${what}: LUT`)
  assert.deepEqual(b.out, a.out, `${what}: indices`)
  const bytes = (x: Float64Array) => new Uint8Array(x.buffer)
  assert.deepEqual(bytes(b.err), bytes(a.err), `${what}: errors`)
}

test('native kernel = TypeScript kernel, byte for byte', { skip }, () => {
  const dists = Object.keys(DISTRIBUTIONS) as Distribution[]
  for (const bits of LUT_BITS) {
    for (const [i, dist] of dists.entries()) {
      // Small groups (exact DP), large groups (binned DP + Lloyd), odd bit offsets.
      const small = floatsToHalfs(syntheticWeight(dist, 16, 40, bits + i, true))
      same(small, bits, 320, `${dist} lut${bits} small`)
      const large = floatsToHalfs(syntheticWeight(dist, 16, 2048, bits * 7 + i, true))
      same(large, bits, 16384, `${dist} lut${bits} large`)
      const odd = floatsToHalfs(syntheticWeight(dist, 24, 129, bits * 3 + i))
      same(odd, bits, 129, `${dist} lut${bits} odd`)
      same(large, bits, 2048, `${dist} lut${bits} groups 8..16`, 8, 16)
      same(syntheticWeight(dist, 16, 1024, bits + 5 * i), bits, 8192, `${dist} lut${bits} float32`)
    }
  }
})

test('native kernel = TypeScript kernel on a float32 group too big to round once', { skip }, () => {
  // Over 2^20 weights per LUT, the native kernel rounds block by block, in both passes.
  same(syntheticWeight('laplace', 1100, 1000, 4), 4, 1_100_000, 'per-tensor float32')
  same(syntheticWeight('outliers', 1030, 1024, 5), 3, 1030 * 1024, 'per-tensor float32, 3 bits')
})

test('native kernel = TypeScript kernel on degenerate groups', { skip }, () => {
  const r = rng(3)
  const groups: number[][] = [
    new Array(64).fill(0.25), // constant
    Array.from({ length: 64 }, (_, i) => (i % 2 ? -0 : 0)), // both zeros
    Array.from({ length: 64 }, (_, i) => [-1, 2, 3][i % 3]), // fewer values than entries
    Array.from({ length: 64 }, () => (r() - 0.5) * 1e-6), // subnormals
    Array.from({ length: 64 }, (_, i) => (i % 2 ? 65504 : -65504) * r()), // full range
    Array.from({ length: 64 }, (_, i) => (i === 7 ? NaN : r())), // NaN: reported per group
    Array.from({ length: 64 }, (_, i) => (i === 9 ? -Infinity : r())),
    Array.from({ length: 64 }, () => Math.round(r() * 40) / 8), // many ties
    Array.from({ length: 64 }, (_, i) => (i % 2 ? 65519.99 : 65520) * (r() < 0.5 ? 1 : -1)), // fp16 max, Inf
    Array.from({ length: 64 }, () => (r() - 0.5) * 2 ** -14), // float32 rounding to subnormals
  ]
  const src = Float32Array.from(groups.flat())
  for (const bits of LUT_BITS) {
    same(floatsToHalfs(src), bits, 64, `degenerate lut${bits}`)
    same(src, bits, 64, `degenerate lut${bits} float32`)
  }
})

test('native kernel rejects arrays too small for the groups', { skip }, () => {
  const k = nativeKernel()!
  const src = new Uint16Array(64)
  const ok = [
    src,
    4,
    32,
    0,
    2,
    new Uint8Array(32),
    new Uint16Array(32),
    new Float64Array(4),
  ] as const
  k.palettizeGroups(...ok)
  assert.throws(
    () => k.palettizeGroups(src, 4, 32, 0, 3, ok[5], ok[6], ok[7]),
    /out of the arrays' bounds/,
  )
  assert.throws(
    () => k.palettizeGroups(src, 4, 32, 0, 2, new Uint8Array(31), ok[6], ok[7]),
    /bounds/,
  )
  assert.throws(() => k.palettizeGroups(src, 5, 32, 0, 2, ok[5], ok[6], ok[7]), /bits must be/)
  assert.throws(() => k.palettizeGroups(src, 4, 32, 0, 1.5, ok[5], ok[6], ok[7]), /integers/)
})
