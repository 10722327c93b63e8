import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gemmNT, gemmNTNaive, transpose2d, type GemmArgs } from './gemm.js'

const rand = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * 12.9898 + seed) * 2)

test('gemmNT matches the naive product for odd sizes, strides and bias', () => {
  for (const [M, N, K] of [
    [1, 1, 1],
    [1, 7, 13],
    [5, 4, 8],
    [3, 9, 2],
    [4, 6, 0],
  ]) {
    const base = {
      a: rand(M * K, 1),
      aOff: 0,
      b: rand(N * K, 2),
      bOff: 0,
      outOff: 0,
      M,
      N,
      K,
      bias: rand(N, 3),
    }
    for (const strides of [{}, { rowStride: 1, colStride: M }]) {
      const g1: GemmArgs = { ...base, ...strides, out: new Float32Array(M * N) }
      const g2: GemmArgs = { ...base, ...strides, out: new Float32Array(M * N) }
      gemmNT(g1)
      gemmNTNaive(g2)
      assert.deepEqual(g1.out, g2.out, `M=${M} N=${N} K=${K}`)
    }
  }
})

test('transpose2d transposes a block at an offset', () => {
  const src = Float32Array.of(9, 1, 2, 3, 4, 5, 6)
  const dst = new Float32Array(6)
  transpose2d(src, 1, 2, 3, dst)
  assert.deepEqual(Array.from(dst), [1, 4, 2, 5, 3, 6])
})
