// planBroadcast's coalesced row plans and eachRow's walk over them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eachRow, planBroadcast } from './broadcast.js'

test('planBroadcast drops size-1 dims and merges dims every operand walks as one', () => {
  // a decode-time scale: one row of 576 against a scalar
  assert.deepEqual(planBroadcast([[1, 576, 1, 1], []]), {
    shape: [1, 576, 1, 1],
    dims: [576],
    strides: [[1], [0]],
  })
  // rotary tables: 9 heads share one row of 64
  assert.deepEqual(
    planBroadcast([
      [1, 9, 1, 64],
      [1, 1, 1, 64],
    ])?.dims,
    [9, 64],
  )
  assert.deepEqual(
    planBroadcast([
      [1, 9, 1, 64],
      [1, 1, 1, 64],
    ])?.strides,
    [
      [64, 1],
      [0, 1],
    ],
  )
  // every dim 1: one row of one element
  assert.deepEqual(planBroadcast([[1, 1], [1]]), { shape: [1, 1], dims: [1], strides: [[0], [0]] })
  assert.deepEqual(planBroadcast([[2, 0], [1]])?.dims, [0])
  assert.equal(
    planBroadcast([
      [2, 3],
      [4, 3],
    ]),
    undefined,
  )
})

test('eachRow visits every output element once, in row-major order', () => {
  const plan = planBroadcast([
    [2, 1, 3],
    [1, 4, 1],
  ])!
  const seen: number[][] = []
  eachRow(plan, (off, o, n) => {
    for (let i = 0; i < n; i++)
      seen.push([o + i, off[0] + i * plan.strides[0].at(-1)!, off[1] + i * plan.strides[1].at(-1)!])
  })
  const want: number[][] = []
  for (let a = 0; a < 2; a++)
    for (let b = 0; b < 4; b++)
      for (let c = 0; c < 3; c++) want.push([a * 12 + b * 3 + c, a * 3 + c, b])
  assert.deepEqual(seen, want)
  let calls = 0
  eachRow(planBroadcast([[2, 0], [1]])!, () => calls++)
  assert.equal(calls, 0)
})
