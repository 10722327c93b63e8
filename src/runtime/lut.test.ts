import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildFunction, buildProgram, FunctionBuilder } from '../mil/builder.js'
import { dense } from '../mil/fold.js'
import { PackedBits } from '../mil/value.js'
import { tensor, type DType } from '../mil/types.js'
import { floatsToHalfs } from '../util/fp16.js'
import { constTensor } from './consts.js'
import { loadFunction } from './executor.js'
import { LutWeight, lutBytes6 } from './lut.js'
import { withTypeScriptKernels } from './native.js'
import { makeTensor } from './tensor.js'

const UINT: Record<number, DType> = {
  1: 'uint1',
  2: 'uint2',
  3: 'uint3',
  4: 'uint4',
  6: 'uint6',
  8: 'uint8',
}

/** A constexpr_lut_to_dense var with pseudo-random indices and tables. */
function lutVar(shape: number[], lutGroups: number[], bits: number, b = new FunctionBuilder()) {
  const n = shape.reduce((a, b) => a * b, 1)
  const idx = Array.from({ length: n }, (_, i) => (i * 7 + (i >> 3)) % 2 ** bits)
  const lutShape = [...lutGroups, 2 ** bits, 1]
  const lutN = lutShape.reduce((a, b) => a * b, 1)
  const dt = UINT[bits]
  const indices = b.const(
    {
      type: tensor(dt, shape),
      data: bits === 8 ? Uint8Array.from(idx) : PackedBits.pack(idx, bits),
    },
    'idx',
  )
  const table = Array.from({ length: lutN }, (_, i) => Math.sin(i * 1.7) * 3)
  const lut = b.const({ type: tensor('fp16', lutShape), data: floatsToHalfs(table) }, 'lut')
  return b.constexpr_lut_to_dense({ indices, lut }, 'w')
}

test('LutWeight decodes rows exactly as constexpr_lut_to_dense (every bit width, grouped axes)', () => {
  const cases: [number[], number[], number][] = [
    [[16, 9, 1, 1], [4, 1, 1, 1], 4],
    [[7, 13], [7, 1], 3],
    [[6, 10], [2, 5], 6],
    [[5, 11, 1, 1], [1, 1, 1, 1], 1],
    [[8, 6], [4, 3], 2],
    [[4, 5], [2, 1], 8],
    [[3, 7], [1, 7], 4],
  ]
  for (const [shape, groups, bits] of cases) {
    const v = lutVar(shape, groups, bits)
    const w = constTensor(v, new Map())
    assert.ok(w instanceof LutWeight, `[${shape}] stays packed`)
    const want = dense(v).values
    const rows = new Float32Array(want.length)
    w.readRows(0, shape[0], rows)
    assert.deepEqual(rows, want, `[${shape}] lut${bits} groups [${groups}]`)
    assert.deepEqual(w.data, want)
    const last = new Float32Array(w.cols)
    w.readRows(shape[0] - 1, 1, last)
    assert.deepEqual(last, want.subarray(want.length - w.cols))
  }
})

test('a 4-bit LutWeight holds about 1/8 of the fp32 bytes; denseWeights decodes instead', () => {
  const v = lutVar([64, 64], [8, 1], 4)
  const w = constTensor(v, new Map()) as LutWeight
  assert.ok(w.bytes <= (64 * 64 * 4) / 8 + 8 * 16 * 4)
  const d = constTensor(v, new Map(), false, false)
  assert.ok(!(d instanceof LutWeight))
  assert.deepEqual(d.data, w.data)
})

test('decode-shaped conv 1×1 and linear read packed weights directly (4, 6, 3 bits), matching dense exactly', () => {
  const fn = buildFunction({ name: 'main', inputs: { x: tensor('fp32', [1, 10]) } }, (b, { x }) => {
    const lin = b.linear({ x, weight: lutVar([13, 10], [13, 1], 4, b) })
    const x4 = b.reshape({ x, shape: [1, 10, 1, 1] })
    const conv = b.conv({ x: x4, weight: lutVar([6, 10, 1, 1], [3, 1, 1, 1], 4, b) })
    const x12 = b.concat({
      values: [x, b.slice_by_index({ x, begin: [0, 0], end: [1, 2] })],
      axis: 1,
    })
    const six = b.linear({ x: x12, weight: lutVar([9, 12], [3, 1], 6, b) })
    const three = b.linear({ x, weight: lutVar([7, 10], [7, 1], 3, b) })
    const cols = b.linear({ x, weight: lutVar([5, 10], [1, 2], 4, b) })
    return { lin, conv, six, three, cols }
  })
  const prog = buildProgram([fn])
  const x = makeTensor(
    'fp32',
    [1, 10],
    Array.from({ length: 10 }, (_, i) => Math.cos(i) * 2),
  )
  // the TypeScript kernels sum packed and dense rows in the same order: equal bit for bit
  const [packed, decoded] = withTypeScriptKernels(() => [
    loadFunction(prog).run({ x }),
    loadFunction(prog, 'main', { denseWeights: true }).run({ x }),
  ])
  assert.deepEqual(packed, decoded)
  assert.ok(Array.from(packed.lin.data as Float32Array).every((v) => v !== 0))
  // the native kernels (when built) sum in float32 in their own order: equal within rounding
  const fast = loadFunction(prog).run({ x })
  for (const [name, t] of Object.entries(fast)) {
    const want = packed[name].data as Float32Array
    ;(t.data as Float32Array).forEach((v, i) =>
      assert.ok(Math.abs(v - want[i]) <= 1e-5 * (1 + Math.abs(want[i])), `${name}[${i}]`),
    )
  }
})

test('lutBytes6: each 6-bit index as low nibble, bit 4 at bit 7, bit 5 at bit 6', () => {
  for (const count of [0, 1, 3, 4, 5, 37, 1000]) {
    const idx = Array.from({ length: count }, (_, i) => (i * 37 + (i >> 3)) % 64)
    const packed = PackedBits.pack(idx, 6).bytes
    const b = lutBytes6(packed, count)
    assert.equal(b.length, count)
    for (let i = 0; i < count; i++) {
      const back = (b[i] & 15) | (((b[i] >> 7) & 1) << 4) | (((b[i] >> 6) & 1) << 5)
      assert.equal(back, idx[i], `index ${i} of ${count}`)
      assert.equal(b[i] & 0x30, 0, 'bits 4 and 5 stay clear')
    }
  }
})
