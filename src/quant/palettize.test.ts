import { join } from 'node:path'
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { readSafetensorsFloat32, readSafetensorsHeader } from '../formats/safetensors.js'
import { FunctionBuilder } from '../mil/builder.js'
import { dense } from '../mil/fold.js'
import { PackedBits, type TensorValue } from '../mil/value.js'
import { AnemllError, UsageError } from '../util/errors.js'
import { floatsToHalfs, halfToFloat } from '../util/fp16.js'
import { GroupScratch, palettizeGroups } from './kernel.js'
import { palettize, type Palettized } from './palettize.js'
import { closePool, lastJobWorkerChunks, warmPool } from './pool.js'
import { dequantize, palettizeReference } from './reference.js'
import type { LutBits } from './spec.js'
import { DISTRIBUTIONS, syntheticWeight, type Distribution } from './synthetic.js'
import { SHARED } from '../../test/fixtures/paths.js'

const DISTS = Object.keys(DISTRIBUTIONS) as Distribution[]

function bytes(t: TensorValue): Uint8Array {
  const d = t.data
  if (d instanceof PackedBits) return d.bytes
  if (d instanceof Uint8Array) return d
  if (d instanceof Uint16Array) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
  throw new Error(`unexpected data ${d.constructor.name}`)
}

function assertSame(a: Palettized, b: Palettized, what: string) {
  assert.deepEqual(a.indices.type, b.indices.type, what)
  assert.deepEqual(a.lut.type, b.lut.type, what)
  assert.deepEqual(bytes(a.lut), bytes(b.lut), `${what}: LUT`)
  assert.deepEqual(bytes(a.indices), bytes(b.indices), `${what}: indices`)
  assert.ok(Math.abs(a.sqnrDb - b.sqnrDb) < 1e-9, `${what}: ${a.sqnrDb} vs ${b.sqnrDb}`)
}

test('fast path = reference, byte for byte, where both solve k-means exactly', () => {
  // Groups small enough that the fast path runs its DP on every distinct value.
  const cases: [LutBits, number, number][] = [
    [2, 16, 8],
    [3, 16, 16],
    [4, 64, 24],
    [6, 32, 48],
    [8, 16, 40],
  ]
  for (const [bits, rows, cols] of cases) {
    for (const [i, dist] of DISTS.entries()) {
      const w = syntheticWeight(dist, rows, cols, 100 * bits + i, i % 2 === 1)
      const shape = [rows, cols, 1, 1]
      const spec = { bits, groupSize: 8 }
      assertSame(
        palettize(w, shape, spec),
        palettizeReference(w, shape, spec),
        `${dist} lut${bits}`,
      )
    }
  }
})

test('binned DP + Lloyd lands within 0.02 dB of the exact optimum', () => {
  for (const bits of [3, 4, 6] as const) {
    for (const [i, dist] of DISTS.entries()) {
      const w = syntheticWeight(dist, 16, 128, 7 * bits + i, i % 2 === 0)
      const shape = [16, 128]
      const spec = { bits, groupSize: 8 }
      const fast = palettize(w, shape, spec)
      const ref = palettizeReference(w, shape, spec)
      assert.ok(
        fast.sqnrDb >= ref.sqnrDb - 0.02,
        `${dist} lut${bits}: ${fast.sqnrDb} < ${ref.sqnrDb}`,
      )
      assert.ok(fast.sqnrDb <= ref.sqnrDb + 1e-9, `${dist} lut${bits}: beats the optimum?`)
    }
  }
})

test('SQNR is measured against the fp16-rounded weight, and matches the reconstruction', () => {
  const w = syntheticWeight('studentT', 64, 96, 5)
  const p = palettize(w, [64, 96], { bits: 4, groupSize: 8 })
  const x = Float32Array.from(floatsToHalfs(w), (h) => halfToFloat(h))
  const y = dequantize(p)
  let signal = 0
  let noise = 0
  for (let i = 0; i < x.length; i++) {
    signal += x[i] ** 2
    noise += (x[i] - y[i]) ** 2
  }
  assert.ok(Math.abs(p.sqnrDb - 10 * Math.log10(signal / noise)) < 1e-9)
  assert.ok(p.sqnrDb > 15 && p.sqnrDb < 25, String(p.sqnrDb))
})

test('fp16 bit patterns in = float32 in', () => {
  const w = syntheticWeight('laplace', 32, 700, 9)
  const spec = { bits: 6, groupSize: 4 } as const
  assertSame(palettize(floatsToHalfs(w), [32, 700], spec), palettize(w, [32, 700], spec), 'fp16')
})

before(() => warmPool(2))
after(() => closePool())

test('same bytes on 1 and 2 threads (chunks of groups, odd bit offsets)', () => {
  const cases: [number[], number, number][] = [
    [[1024, 1024, 1, 1], 4, 8],
    [[8192, 129], 3, 1], // 387 bits per group: groups straddle bytes
    [[2048, 512], 6, 16],
  ]
  for (const [shape, bits, groupSize] of cases) {
    const w = syntheticWeight('outliers', shape[0], shape[1], bits, true)
    const spec = { bits, groupSize } as const
    const one = palettize(w, shape, spec as never, { threads: 1 })
    assertSame(palettize(w, shape, spec as never, { threads: 2 }), one, `${shape} lut${bits}`)
    assert.ok(lastJobWorkerChunks() > 0, 'the worker took part')
    assertSame(palettize(w, shape, spec as never, { threads: 2 }), one, `${shape} again`)
    const sharedW = new Float32Array(new SharedArrayBuffer(w.byteLength))
    sharedW.set(w)
    assertSame(palettize(sharedW, shape, spec as never, { threads: 2 }), one, `${shape} shared`)
  }
})

test('few distinct values, constants, zeros and tiny tensors reconstruct exactly', () => {
  const three = Float32Array.from({ length: 4096 }, (_, i) => [-0.5, 0.25, 1][i % 3])
  const p3 = palettize(three, [64, 64], { bits: 4, groupSize: 8 })
  assert.equal(p3.sqnrDb, Infinity)
  assert.deepEqual(dequantize(p3), three)
  // Unused entries repeat the largest value, so each LUT stays ascending.
  assert.deepEqual(Array.from((p3.lut.data as Uint16Array).subarray(0, 16), halfToFloat), [
    -0.5,
    0.25,
    ...new Array<number>(14).fill(1),
  ])

  const constant = new Float32Array(2048).fill(0.3)
  const pc = palettize(constant, [16, 128], { bits: 2, groupSize: 8 })
  assert.equal(pc.sqnrDb, Infinity)
  assert.deepEqual(
    dequantize(pc),
    Float32Array.from(constant, (x) => halfToFloat(floatsToHalfs([x])[0])),
  )

  const zeros = Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? -0 : 0))
  const pz = palettize(zeros, [8, 8], { bits: 3, groupSize: 0 })
  assert.equal(pz.sqnrDb, Infinity)
  assert.ok(
    (pz.lut.data as Uint16Array).every((h) => h === 0),
    '-0 and +0 share the +0 entry',
  )

  const tiny = Float32Array.from([0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, 0.9])
  const pt = palettize(tiny, [9], { bits: 2, groupSize: 0 })
  assert.deepEqual(pt.lut.type.shape, [1, 4, 1])
  assert.deepEqual(pt.indices.type, { kind: 'tensor', dtype: 'uint2', shape: [9] })
  assertSame(pt, palettizeReference(tiny, [9], { bits: 2, groupSize: 0 }), 'tiny')

  const extremes = Float32Array.from([65504, -65504, 6e-8, -6e-8, 1e-5, 0, 3, 1e-9])
  const pe = palettize(extremes, [8, 1], { bits: 3, groupSize: 8 })
  assert.equal(pe.sqnrDb, Infinity) // 8 fp16 values (1e-9 rounds to 0, one of 7 distinct)
})

test('bad input: NaN, beyond fp16, wrong length, bad group', () => {
  const w = syntheticWeight('gaussian', 32, 64, 1)
  for (const bad of [NaN, Infinity, -70000]) {
    const x = w.slice()
    x[17 * 64 + 3] = bad
    assert.throws(
      () => palettize(x, [32, 64], { bits: 4, groupSize: 8 }),
      (e: unknown) =>
        e instanceof AnemllError &&
        /output channels 16… hold NaN or a value beyond fp16/.test(e.message),
    )
  }
  assert.throws(() => palettize(w, [32, 63], { bits: 4, groupSize: 8 }), UsageError)
  assert.throws(() => palettize(w, [32, 64], { bits: 4, groupSize: 5 }), /does not divide the 32/)
})

test('dequantizes through constexpr_lut_to_dense (mil/fold.ts) to the reconstruction', () => {
  for (const [shape, bits, groupSize] of [
    [[32, 48, 1, 1], 4, 8],
    [[12, 20], 3, 0],
    [[16, 70], 6, 2],
    [[8, 40], 8, 4],
  ] as const) {
    const w = syntheticWeight('laplace', shape[0], shape[1], bits)
    const p = palettize(w, shape, { bits, groupSize })
    const b = new FunctionBuilder()
    const indices = b.const(p.indices, 'w_palettized_indices')
    const lut = b.const(p.lut, 'w_palettized_lut')
    const v = b.constexpr_lut_to_dense({ indices, lut }, 'w')
    const d = dense(v)
    assert.equal(d.dtype, 'fp16')
    assert.deepEqual(d.shape, shape)
    assert.deepEqual(d.values, dequantize(p), `[${shape}] lut${bits},${groupSize}`)
  }
})

const STORIES = join(SHARED, 'models/stories260K/model.safetensors')

test('real weights (stories260K): within 0.02 dB of the exact optimum', () => {
  const file = readSafetensorsHeader(STORIES)
  // down_proj groups (4 × 172 weights) are past the exact-DP size: the binned path runs.
  const cases = [
    ['model.layers.0.mlp.down_proj.weight', 4],
    ['model.layers.1.mlp.down_proj.weight', 3],
    ['model.layers.0.mlp.gate_proj.weight', 4],
  ] as const
  for (const [name, bits] of cases) {
    const shape = file.tensors.get(name)!.shape
    const w = readSafetensorsFloat32(file, name)
    const spec = { bits, groupSize: 4 }
    const fast = palettize(w, shape, spec)
    const ref = palettizeReference(w, shape, spec)
    assert.ok(
      fast.sqnrDb >= ref.sqnrDb - 0.02,
      `${name} lut${bits}: ${fast.sqnrDb} < ${ref.sqnrDb}`,
    )
  }
})

test('the TypeScript kernel reads float32 jobs (meant for the native kernel) the same', () => {
  const w = syntheticWeight('outliers', 16, 300, 2)
  const job = (src: Float32Array | Uint16Array) => ({
    src,
    bits: 3,
    groupElems: 600,
    groups: 8,
    out: new Uint8Array(1800),
    lut: new Uint16Array(64),
    err: new Float64Array(16),
  })
  const a = job(w)
  const b = job(floatsToHalfs(w))
  palettizeGroups(a, 0, 8, new GroupScratch())
  palettizeGroups(b, 0, 8, new GroupScratch())
  assert.deepEqual([a.out, a.lut, a.err], [b.out, b.lut, b.err])
})
