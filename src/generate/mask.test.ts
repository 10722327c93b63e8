import { test } from 'node:test'
import assert from 'node:assert/strict'
import { causalRows, updateMask } from './mask.js'

test('causal rows: row p sees columns 0..p (0), the rest is -inf', () => {
  const C = 6
  const m = causalRows(2, 3, C) // rows 2, 3, 4
  const row = (i: number) => Array.from(m.subarray(i * C, (i + 1) * C))
  const I = -Infinity
  assert.deepEqual(row(0), [0, 0, 0, I, I, I])
  assert.deepEqual(row(1), [0, 0, 0, 0, I, I])
  assert.deepEqual(row(2), [0, 0, 0, 0, 0, I])
  // the last position sees everything
  assert.deepEqual(Array.from(causalRows(5, 1, C)), [0, 0, 0, 0, 0, 0])
})

test('update mask: a 1 at [first + i, i]', () => {
  const m = updateMask(3, 2, [1, 1, 6, 2])
  const ones = [...m.keys()].filter((i) => m[i] === 1)
  assert.deepEqual(ones, [3 * 2 + 0, 4 * 2 + 1])
  assert.deepEqual(Array.from(updateMask(4, 1, [1, 1, 6, 1])), [0, 0, 0, 0, 1, 0])
})
