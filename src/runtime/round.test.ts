import { test } from 'node:test'
import assert from 'node:assert/strict'
import { roundToHalf } from '../util/fp16.js'
import { roundHalfInPlace, scanNonFinite } from './round.js'

test('roundHalfInPlace agrees with roundToHalf on edge cases and random floats', () => {
  const edge = [
    0,
    -0,
    1,
    -1,
    65504,
    65519.99,
    65520,
    -65520,
    1e6,
    2 ** -14,
    2 ** -24,
    2 ** -25,
    3 * 2 ** -26,
    2 ** -14 - 2 ** -25,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    Infinity,
    -Infinity,
    NaN,
    1e-40,
  ]
  const rand = Array.from({ length: 20000 }, (_, i) => {
    const m = Math.sin(i * 12.9898) * 43758.5453
    return (m - Math.floor(m) - 0.5) * 2 ** ((i % 48) - 30)
  })
  const xs = Float32Array.from([...edge, ...rand])
  const got = xs.slice()
  roundHalfInPlace(got)
  for (let i = 0; i < xs.length; i++) {
    const want = roundToHalf(xs[i])
    assert.ok(
      Object.is(got[i], want) || (got[i] === 0 && want === 0),
      `${xs[i]}: got ${got[i]}, want ${want}`,
    )
  }
})

test('scanNonFinite finds the first infinity and NaN', () => {
  assert.deepEqual(scanNonFinite(Float32Array.of(1, 2, 3)), { inf: -1, nan: -1 })
  assert.deepEqual(scanNonFinite(Float32Array.of(1, NaN, -Infinity, NaN)), { inf: 2, nan: 1 })
})
