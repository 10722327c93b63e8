import assert from 'node:assert/strict'
import { test } from 'node:test'
import { UsageError } from '../util/errors.js'
import { lutLayout, parseLutSpec } from './spec.js'

test('parseLutSpec: ANEMLL 0.3.5 bits[,group] values', () => {
  assert.deepEqual(parseLutSpec('4', '--lut2'), { bits: 4, groupSize: 8 })
  assert.deepEqual(parseLutSpec('6,4', '--lut3'), { bits: 6, groupSize: 4 })
  assert.deepEqual(parseLutSpec(' 4 , 16 ', '--lut2'), { bits: 4, groupSize: 16 })
  assert.deepEqual(parseLutSpec('4,', '--lut2'), { bits: 4, groupSize: 8 })
  for (const t of ['0', 't', 'tensor', 'T', 'Tensor']) {
    assert.deepEqual(parseLutSpec(`6,${t}`, '--lut3'), { bits: 6, groupSize: 0 })
  }
  for (const b of [2, 3, 8])
    assert.deepEqual(parseLutSpec(String(b), '--lut1'), { bits: b, groupSize: 8 })
  for (const none of ['', '  ', 'none', 'no', 'false', 'NONE', 'False']) {
    assert.equal(parseLutSpec(none, '--lut1'), undefined)
  }
})

test('parseLutSpec: bad bits or group name the flag and the allowed values', () => {
  const cases: [string, RegExp][] = [
    ['5', /--lut2 '5': LUT bits must be one of 2, 3, 4, 6, 8/],
    ['1', /one of 2, 3, 4, 6, 8/],
    ['16', /one of 2, 3, 4, 6, 8/],
    ['4.0', /one of 2, 3, 4, 6, 8/],
    ['four', /one of 2, 3, 4, 6, 8/],
    [
      '4,-8',
      /--lut2 '4,-8': group must be a positive number of output channels, or 0, t or tensor/,
    ],
    ['4,x', /group must be/],
    ['4,2.5', /group must be/],
    ['4,8,1', /expected bits or bits,group/],
    [',8', /LUT bits must be/],
  ]
  for (const [v, re] of cases) {
    assert.throws(
      () => parseLutSpec(v, '--lut2'),
      (e: unknown) => e instanceof UsageError && re.test(e.message),
      v,
    )
  }
})

test('lutLayout: groups, group sizes and coremltools LUT shapes', () => {
  assert.deepEqual(lutLayout([64, 128, 1, 1], { bits: 4, groupSize: 8 }), {
    groups: 8,
    groupElems: 1024,
    lutShape: [8, 1, 1, 1, 16, 1],
  })
  assert.deepEqual(lutLayout([32, 10], { bits: 6, groupSize: 0 }), {
    groups: 1,
    groupElems: 320,
    lutShape: [1, 1, 64, 1],
  })
  assert.deepEqual(lutLayout([16, 4], { bits: 2, groupSize: 16 }).lutShape, [1, 1, 4, 1])
  assert.deepEqual(lutLayout([12], { bits: 3, groupSize: 4 }).lutShape, [3, 8, 1])
  assert.throws(
    () => lutLayout([12, 4], { bits: 4, groupSize: 8 }),
    /group size 8 does not divide the 12 output channels/,
  )
  assert.throws(() => lutLayout([], { bits: 4, groupSize: 8 }), UsageError)
  assert.throws(() => lutLayout([8, 0], { bits: 4, groupSize: 8 }), UsageError)
  assert.throws(() => lutLayout([8, 8], { bits: 5 as 4, groupSize: 8 }), /LUT bits must be one of/)
})
