import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  bf16ToFloat,
  floatsToHalfs,
  floatToBf16,
  floatToHalf,
  halfToFloat,
  roundToHalf,
} from './fp16.js'

test('fp16 known bit patterns', () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [2, 0x4000],
    [-2, 0xc000],
    [65504, 0x7bff],
    [0.5, 0x3800],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [Infinity, 0x7c00],
    [0, 0],
  ]
  for (const [f, h] of cases) {
    assert.equal(floatToHalf(f), h, `floatToHalf(${f})`)
    assert.equal(halfToFloat(h), f, `halfToFloat(${h})`)
  }
  assert.equal(floatToHalf(65520), 0x7c00, 'rounds up to inf past max')
  assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))))
})

test('fp16 round-trips every finite half exactly and rounds to nearest even', () => {
  for (let h = 0; h < 0x10000; h++) {
    const f = halfToFloat(h)
    if (Number.isFinite(f) && !Object.is(f, -0)) assert.equal(floatToHalf(f), h)
  }
  // 1 + 2^-11 is exactly between 1 and 1+2^-10: ties to even (1).
  assert.equal(roundToHalf(1 + 2 ** -11), 1)
  assert.equal(roundToHalf(1 + 3 * 2 ** -11), 1 + 2 * 2 ** -10)
})

test('bf16 conversion', () => {
  assert.equal(floatToBf16(1), 0x3f80)
  assert.equal(bf16ToFloat(0x3f80), 1)
  assert.equal(bf16ToFloat(floatToBf16(3.140625)), 3.140625)
})

test('bulk float32 → fp16 equals the scalar conversion (normals, subnormals, ties, inf, nan)', () => {
  const vals = new Float32Array(200000)
  let s = 7
  for (let i = 0; i < vals.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    const e = (s % 60) - 30
    vals[i] = ((s / 2 ** 32) * 2 - 1) * 2 ** e
  }
  vals.set([0, -0, 65504, 65520, 70000, -Infinity, NaN, 2 ** -25, 2 ** -24 * 1.5, 1 + 2 ** -11], 0)
  const fast = floatsToHalfs(vals)
  for (let i = 0; i < vals.length; i++) {
    const want = floatToHalf(vals[i])
    if (Number.isNaN(vals[i])) assert.ok((fast[i] & 0x7c00) === 0x7c00 && fast[i] & 0x3ff)
    else assert.equal(fast[i], want, `value ${vals[i]}`)
  }
})
