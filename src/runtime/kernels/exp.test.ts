import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EXP_MAX, EXP_MIN, expDet } from './exp.js'

test('expDet is within 2^-52 of Math.exp over the normal range, and exp(0) = 1', () => {
  let worst = 0
  for (let i = 0; i <= 200000; i++) {
    const x = -708 + (1417 * i) / 200000 // normal results only
    const want = Math.exp(x)
    worst = Math.max(worst, Math.abs(expDet(x) - want) / want)
  }
  assert.ok(worst <= 2 ** -52, `worst relative error ${worst}`)
  assert.equal(expDet(0), 1)
  assert.equal(expDet(-0), 1)
})

test('expDet: overflow, underflow into subnormals, and non-finite inputs', () => {
  assert.ok(Number.isFinite(expDet(EXP_MAX)))
  assert.equal(expDet(EXP_MAX + 1e-9), Infinity)
  assert.equal(expDet(Infinity), Infinity)
  assert.equal(expDet(-Infinity), 0)
  assert.ok(Number.isNaN(expDet(NaN)))
  assert.equal(expDet(EXP_MIN - 1e-9), 0)
  // subnormal results: within one unit of the smallest subnormal of Math.exp
  for (const x of [-709, -720, -730, -740, -744.4, -745.1])
    assert.ok(Math.abs(expDet(x) - Math.exp(x)) <= 5e-324 * 2, `exp(${x})`)
})
