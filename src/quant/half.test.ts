import assert from 'node:assert/strict'
import { test } from 'node:test'
import { floatToHalf } from '../util/fp16.js'
import { floatsToHalfBits } from './half.js'

test('floatsToHalfBits = util floatToHalf (round to nearest even) over the float32 range', () => {
  // Every 4099th float32 bit pattern (all exponents, mantissa tails, NaNs), plus every fp16
  // value, its neighbours and the midpoints between fp16 values (ties to even).
  const bits: number[] = []
  for (let x = 0; x < 2 ** 32; x += 4099) bits.push(x)
  const src = new Float32Array(new Uint32Array(bits).buffer)
  const extra: number[] = []
  for (let h = 0; h < 0x7c00; h++) {
    const lo = h === 0 ? 0 : halfValue(h)
    const hi = halfValue(h + 1)
    extra.push(lo, (lo + hi) / 2, -((lo + hi) / 2), Math.fround(lo * (1 + 2 ** -20)))
  }
  extra.push(
    65504,
    65519.99,
    65520,
    65536,
    1e9,
    -1e9,
    Infinity,
    -Infinity,
    NaN,
    -0,
    2 ** -25,
    2 ** -26,
  )
  const all = new Float32Array([...src, ...extra])
  const got = floatsToHalfBits(all)
  for (let i = 0; i < all.length; i++) {
    const want = floatToHalf(all[i])
    if (got[i] !== want)
      assert.fail(`${all[i]}: got ${got[i].toString(16)}, want ${want.toString(16)}`)
  }
})

function halfValue(h: number): number {
  const e = (h >> 10) & 0x1f
  const m = h & 0x3ff
  return e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15)
}
