// Strided walks against a naive per-element index computation, on random shapes and strides:
// coalesced or not, Float32Array or Int32Array, short rows (loops) and long contiguous rows (set).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { numel, type NumericData } from '../tensor.js'
import { coalesce, stridedCopy, stridedScatter } from './strided.js'

/** A small deterministic generator (tests must not flake). */
function rng(seed: number) {
  let s = seed >>> 0
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s % n
  }
}

/** Source offset of every output element, by the definition base + Σ idx[d]·src[d]. */
function naiveOffsets(shape: number[], src: number[], base: number): number[] {
  const out: number[] = []
  const idx = new Array<number>(shape.length).fill(0)
  for (let q = 0; q < numel(shape); q++) {
    let rem = q
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = rem % shape[d]
      rem = Math.floor(rem / shape[d])
    }
    out.push(idx.reduce((o, v, d) => o + v * src[d], base))
  }
  return out
}

/** A random view of a row-major array: permuted dims, slicing strides, an offset. */
function randomWalk(r: (n: number) => number) {
  const rank = r(5)
  const dims = Array.from({ length: rank }, () => [1, 1, 2, 3, 4][r(5)])
  // one long dim now and then: rows of 64+ take the set(subarray) path
  if (rank && r(3) === 0) dims[r(rank)] = 70
  const step = Array.from({ length: rank }, () => [1, 1, 1, 2, 3][r(5)])
  const full = dims.map((d, i) => d * step[i])
  const st = full.map((_, i) => full.slice(i + 1).reduce((a, b) => a * b, 1))
  const perm = dims.map((_, i) => i).sort(() => r(3) - 1)
  const shape = perm.map((p) => dims[p])
  const src = perm.map((p) => st[p] * step[p])
  return { shape, src, size: numel(full) + 3, base: r(3) }
}

test('coalesce keeps the walk: same offsets in the same order', () => {
  const r = rng(1)
  for (let i = 0; i < 300; i++) {
    const { shape, src, base } = randomWalk(r)
    const c = coalesce(shape, src)
    assert.deepEqual(naiveOffsets(c.shape, c.src, base), naiveOffsets(shape, src, base))
    assert.ok(!c.shape.includes(1) || numel(shape) === 1, 'size-1 dims are dropped')
  }
  assert.deepEqual(coalesce([1, 9, 64, 1], [576, 64, 1, 64]), { shape: [576], src: [1] })
  assert.deepEqual(coalesce([2, 0, 3], [0, 3, 1]), { shape: [0], src: [1] })
})

test('stridedCopy and stridedScatter match the per-element definition', () => {
  const r = rng(2)
  let longRows = 0
  for (let i = 0; i < 300; i++) {
    const { shape, src, size, base } = randomWalk(r)
    const offs = naiveOffsets(shape, src, base)
    const cs = coalesce(shape, src)
    if (cs.src.at(-1) === 1 && cs.shape.at(-1)! >= 64) longRows++
    const makers: ((n: number) => NumericData)[] = [
      (n) => new Float32Array(n),
      (n) => new Int32Array(n),
    ]
    for (const make of makers) {
      const x: NumericData = make(size)
      for (let j = 0; j < size; j++) x[j] = j * 3 - 7
      const c = coalesce(shape, src)
      for (const [sh, st] of [
        [shape, src],
        [c.shape, c.src],
      ]) {
        const out = make(offs.length)
        stridedCopy(x, base, out, sh, st)
        assert.deepEqual(
          Array.from(out),
          offs.map((o) => x[o]),
        )
        const y = make(size)
        const u = make(offs.length)
        for (let j = 0; j < u.length; j++) u[j] = j + 1
        stridedScatter(u, y, base, sh, st)
        const want = make(size)
        offs.forEach((o, j) => (want[o] = u[j]))
        assert.deepEqual(Array.from(y), Array.from(want))
      }
    }
  }
  assert.ok(longRows > 20, `long contiguous rows covered (${longRows})`)
})
