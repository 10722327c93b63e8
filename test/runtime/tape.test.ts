// Executable.runTaped against run() on small programs built to trip a tape: KV-cache writes whose
// bounds move every run (native sliceWrite reads them when it runs), a write that leaves its
// slice (the tape steps aside and the interpreter reports it), a view whose offset is computed
// at run time (replayed live, not kept), and a conv computed in JavaScript (im2col: replayed live);
// and the native sliceWrite against stridedScatter.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  buildFunction,
  buildProgram,
  constant,
  type FunctionBuilder,
} from '../../src/mil/builder.js'
import type { Var } from '../../src/mil/program.js'
import { tensor } from '../../src/mil/types.js'
import { createState, loadFunction } from '../../src/runtime/executor.js'
import { nativeKernels } from '../../src/runtime/native.js'
import { liveColumns } from '../../src/runtime/fuse-attention.js'
import type { Tensor } from '../../src/runtime/tensor.js'
import { stridedScatter } from '../../src/runtime/kernels/strided.js'
import { f32, i32, iota, twoLayers } from './helpers.js'

/** Row `row` of x [·, 3] (kept 2-D), its slice bounds computed from `row` at run time. */
function rowAt(b: FunctionBuilder, x: Var, row: Var) {
  const begin = b.concat({ values: [row, [0]], axis: 0 })
  const end = b.concat({ values: [b.add({ x: row, y: [1] }), [3]], axis: 0 })
  return b.slice_by_index({ x, begin, end })
}

const skip = !nativeKernels() && 'needs the native kernels'
const bits = (r: Record<string, Tensor>) =>
  Object.fromEntries(Object.entries(r).map(([k, t]) => [k, [...t.shape, ...t.data]]))

test('KV-cache writes at a moving position: taped = interpreted, in two caches', { skip }, () => {
  const program = buildProgram([twoLayers()])
  const plain = loadFunction(program)
  const taped = loadFunction(program)
  const [sa, sb, sc] = [createState(plain), createState(taped), createState(taped)]
  for (let pos = 0; pos < 3; pos++) {
    const inputs = { k: f32([1, 2], [pos + 1, 2 - pos]), pos: i32([1], [pos]) }
    const want = bits(plain.run(inputs, sa))
    for (const s of [sb, sc]) assert.deepEqual(bits(taped.runTaped(inputs, s)), want, `pos ${pos}`)
  }
  assert.deepEqual(sb.get('kv').data, sa.get('kv').data)
  const t = taped.describeTape(sb)!
  // per layer: add, 4 concats (index math, integer), 2 slice_updates and mul on native tapes;
  // the reductions stay live
  assert.ok(t.native >= 16, `index math and KV writes on native tapes: ${JSON.stringify(t)}`)
  assert.equal(t.early, 0)
})

test(
  'a write outside its slice: runTaped reports what run() reports, then keeps working',
  { skip },
  () => {
    const program = buildProgram([twoLayers()])
    const plain = loadFunction(program)
    const taped = loadFunction(program)
    const [sa, sb] = [createState(plain), createState(taped)]
    const at = (pos: number) => ({ k: f32([1, 2], [1, 2]), pos: i32([1], [pos]) })
    taped.runTaped(at(0), sb)
    plain.run(at(0), sa)
    const message = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return (e as Error).message
      }
      return 'no error'
    }
    const want = message(() => plain.run(at(3), sa))
    assert.notEqual(want, 'no error')
    assert.equal(
      message(() => taped.runTaped(at(3), sb)),
      want,
    )
    assert.deepEqual(bits(taped.runTaped(at(1), sb)), bits(plain.run(at(1), sa)))
  },
)

test(
  'a slice whose begin is computed at run time is replayed, not kept as a view',
  { skip },
  () => {
    const fn = buildFunction(
      { name: 'main', inputs: { x: tensor('fp32', [4, 3]), pos: tensor('int32', [1]) } },
      (b, { x, pos }) => {
        return { row: b.mul({ x: rowAt(b, x, pos), y: 2 }) }
      },
    )
    const exe = loadFunction(buildProgram([fn]))
    const x = f32([4, 3], iota(12))
    for (const pos of [0, 2, 1, 3])
      assert.deepEqual(
        [...exe.runTaped({ x, pos: i32([1], [pos]) }).row.data],
        [0, 1, 2].map((j) => 2 * (3 * pos + j)),
      )
  },
)

test('a conv computed in JavaScript (3×3, im2col) is replayed on every run', { skip }, () => {
  const fn = buildFunction(
    { name: 'main', inputs: { x: tensor('fp32', [1, 1, 4, 4]) } },
    (b, { x }) => ({
      y: b.add({ x: b.conv({ x, weight: constant('fp32', [2, 1, 3, 3], iota(18, 0.1)) }), y: 1 }),
    }),
  )
  const program = buildProgram([fn])
  const plain = loadFunction(program)
  const taped = loadFunction(program)
  for (let r = 0; r < 3; r++) {
    const x = f32([1, 1, 4, 4], iota(16, r + 1))
    assert.deepEqual(bits(taped.runTaped({ x })), bits(plain.run({ x })), `run ${r}`)
  }
})

test(
  'sliceWrite places the update as stridedScatter does, bounds read at each call',
  { skip },
  () => {
    const k = nativeKernels()!
    let seed = 7
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
      return seed % n
    }
    for (let trial = 0; trial < 60; trial++) {
      const dims = Array.from({ length: 1 + rnd(4) }, () => 1 + rnd(5))
      const begin = dims.map((d) => rnd(d))
      const count = dims.map((d, i) => 1 + rnd(d - begin[i]))
      const u = Float32Array.from({ length: count.reduce((a, b) => a * b, 1) }, (_, i) => i + 0.5)
      const x = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => -i)
      const want = x.slice()
      const st = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1))
      const base = begin.reduce((s, b, i) => s + b * st[i], 0)
      stridedScatter(u, want, base, count, st)
      // bounds as the graph may spell them: some from the end (negative)
      const b32 = Int32Array.from(begin, (b, i) => (trial % 2 ? b - dims[i] : b))
      const e32 = Int32Array.from(begin, (b, i) => b + count[i])
      k.sliceWrite(u, x, b32, e32, Int32Array.from(dims), Int32Array.from(count))
      assert.deepEqual(x, want, `dims ${dims} begin ${begin} count ${count}`)
    }
    const x = new Float32Array(12)
    const dims = Int32Array.of(4, 3)
    const count = Int32Array.of(1, 3)
    const u = new Float32Array(3).fill(1)
    const at = (b: number, e: number) => () =>
      k.sliceWrite(u, x, Int32Array.of(b, 0), Int32Array.of(e, 3), dims, count)
    assert.throws(at(4, 5), /outside x/) // past the end
    assert.throws(at(1, 3), /not count long/) // two rows for a one-row update
    assert.throws(at(-5, -4), /outside x/)
    assert.ok(
      x.every((v) => v === 0),
      'a refused write writes nothing',
    )
    at(-1, 4)()
    assert.deepEqual([...x.subarray(9)], [1, 1, 1])
    assert.throws(
      () => k.sliceWrite(u, x, Int32Array.of(0), Int32Array.of(1, 3), dims, count),
      /bad arguments/,
    )
    assert.throws(
      () =>
        k.sliceWrite(new Float32Array(2), x, Int32Array.of(0, 0), Int32Array.of(1, 3), dims, count),
      /does not match/,
    )
  },
)

test('integer add/sub and copy: the native calls index math takes on a tape', { skip }, () => {
  const k = nativeKernels()!
  const x = Int32Array.of(2 ** 31 - 1, -5, 7, 0)
  const y = Int32Array.of(1, 3)
  const out = new Int32Array(4)
  const plan = [Int32Array.of(2, 2), Int32Array.of(2, 1), Int32Array.of(0, 1)] as const
  k.binary(0, x, y, out, ...plan) // y broadcast along the rows
  assert.deepEqual([...out], [(2 ** 31 - 1 + 1) | 0, -2, 8, 3], 'wraps as an Int32Array stores')
  k.binary(1, x, y, out, ...plan)
  assert.deepEqual([...out], [2 ** 31 - 2, -8, 6, -3])
  assert.throws(() => k.binary(2, x, y, out, ...plan), /bad arguments/) // no integer mul
  const f = new Float32Array(4)
  assert.throws(() => k.binary(0, x, f as never, out, ...plan), /bad arguments/)
  const dst = new Int32Array(6)
  k.copy(x, 1, dst, 3, 3)
  assert.deepEqual([...dst], [0, 0, 0, -5, 7, 0])
  assert.throws(() => k.copy(x, 2, dst, 0, 3), /bad arguments/)
  assert.throws(() => k.copy(x, 0, f as never, 0, 1), /bad arguments/)
})

test(
  'attention with L = 0 finds the live columns as liveColumns does (a tape replays it)',
  { skip },
  () => {
    const k = nativeKernels()!
    const [M, D, C, Dv] = [2, 8, 70, 8]
    const f = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s))
    const [q, key, v] = [f(M * D, 0.3), f(C * D, 0.7), f(C * Dv, 1.1)]
    for (const live of [0, 1, 31, 32, 33, 64, 69, 70]) {
      const mask = new Float32Array(2 * C).fill(-Infinity)
      mask.fill(0, 0, Math.max(1, live - 5)).fill(0, C, C + live)
      const rows = Int32Array.of(0, C)
      const [want, got] = [new Float32Array(M * Dv), new Float32Array(M * Dv)]
      k.attention(q, key, v, mask, rows, want, 1, M, D, C, Dv, liveColumns(mask, C))
      k.attention(q, key, v, mask, rows, got, 1, M, D, C, Dv, 0)
      assert.deepEqual(got, want, `live ${live}`)
    }
  },
)

test(
  'a live op that reads only inputs and constants runs first; results unchanged',
  { skip },
  () => {
    const fn = buildFunction(
      { name: 'main', inputs: { x: tensor('fp32', [4, 3]), pos: tensor('int32', [1]) } },
      (b, { x, pos }) => {
        const y = b.mul({ x, y: 2 }) // native
        const row = b.mul({ x: pos, y: [1] }) // integer mul: computed in JavaScript, live
        return { out: rowAt(b, y, row) }
      },
    )
    const exe = loadFunction(buildProgram([fn]))
    const x = f32([4, 3], iota(12))
    for (const pos of [1, 3, 0, 2])
      assert.deepEqual(
        [...exe.runTaped({ x, pos: i32([1], [pos]) }).out.data],
        [0, 1, 2].map((j) => 2 * (3 * pos + j)),
      )
    assert.ok(exe.describeTape()!.early > 0, JSON.stringify(exe.describeTape()))
  },
)
