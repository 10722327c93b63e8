import { test } from 'node:test'
import assert from 'node:assert/strict'
import { packBits, packedByteLength, unpackBits } from './bitpack.js'
import { UsageError } from '../util/errors.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

// The examples verified with Apple's C++ packer (coreml-format.md §4.4).
test('packBits matches the verified examples of the format doc', () => {
  assert.equal(hex(packBits([1, 2, 3, 4, 5], 4)), '214305')
  assert.equal(hex(packBits([1, 2, 3, 63], 6)), '8130fc')
  assert.equal(hex(packBits([-1, 2, -8], 4, true)), '2f08')
})

test('unpackBits inverts the verified examples', () => {
  assert.deepEqual([...unpackBits(Buffer.from('214305', 'hex'), 4, 5)], [1, 2, 3, 4, 5])
  assert.deepEqual([...unpackBits(Buffer.from('8130fc', 'hex'), 6, 4)], [1, 2, 3, 63])
  const s = unpackBits(Buffer.from('2f08', 'hex'), 4, 3, true)
  assert.ok(s instanceof Int8Array)
  assert.deepEqual([...s], [-1, 2, -8])
})

// A plain bit-by-bit reference of the §4.4 definition, to check every width against.
function referencePack(values: number[], bits: number): Uint8Array {
  const out = new Uint8Array(packedByteLength(values.length, bits))
  values.forEach((v, i) => {
    for (let b = 0; b < bits; b++) {
      const p = i * bits + b
      if ((v >> b) & 1) out[p >> 3] |= 1 << (p & 7)
    }
  })
  return out
}

test('every width 1..8, signed and unsigned, matches the bit-by-bit definition and round-trips', () => {
  let seed = 12345
  const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32
  for (let bits = 1; bits <= 8; bits++) {
    for (const n of [0, 1, 7, 8, 9, 63, 1000]) {
      for (const signed of [false, true]) {
        const lo = signed ? -(1 << (bits - 1)) : 0
        const vals = Array.from({ length: n }, () => lo + Math.floor(rand() * (1 << bits)))
        const packed = packBits(vals, bits, signed)
        const ref = referencePack(
          vals.map((v) => v & ((1 << bits) - 1)),
          bits,
        )
        assert.equal(hex(packed), hex(ref), `bits=${bits} n=${n} signed=${signed}`)
        assert.deepEqual([...unpackBits(packed, bits, n, signed)], vals)
      }
    }
  }
})

test('packBits rejects out-of-range and non-integer values, naming the index', () => {
  assert.throws(
    () => packBits([1, 16], 4),
    (e: Error) => e instanceof UsageError && /16 at index 1/.test(e.message),
  )
  assert.throws(() => packBits([-9], 4, true), /-9 at index 0.*\[-8, 7\]/)
  assert.throws(() => packBits([8], 4, true), /int4 range/)
  assert.throws(() => packBits([0.5], 3), /0.5 at index 0/)
  assert.throws(() => packBits([NaN], 6), /NaN/)
  assert.throws(() => packBits([1], 9), /bit width/)
})

test('unpackBits rejects input that is too short', () => {
  assert.throws(() => unpackBits(new Uint8Array(2), 4, 5), UsageError)
  assert.throws(() => unpackBits(new Uint8Array(2), 3, 6), /6 3-bit values from 2 bytes/)
})

test('64M 4-bit values pack and unpack in place (no per-value allocation)', () => {
  // Speed is measured in bench/quant, not here: a test must not time the wall clock.
  const n = 64 * 1024 * 1024
  const vals = new Uint8Array(n)
  for (let i = 0; i < n; i++) vals[i] = i & 15
  const packed = packBits(vals, 4)
  assert.equal(packed.length, n / 2)
  assert.equal(packed[0], 0x10)
  const back = unpackBits(packed, 4, n)
  for (let i = 0; i < n; i += 4099) assert.equal(back[i], i & 15, `value ${i}`)
  assert.equal(back[n - 1], 15)
})
