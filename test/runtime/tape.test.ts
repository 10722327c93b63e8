// Executable.runTaped against run() on small programs built to trip a tape: KV-cache writes whose
// bounds move every run (native sliceWrite reads them when it runs), a write that leaves its
// slice (the tape steps aside and the interpreter reports it), a view whose offset is computed
// at run time (replayed live, not kept), and a conv computed in JavaScript (im2col: replayed live).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildFunction, buildProgram, constant } from '../../src/mil/builder.js'
import { tensor } from '../../src/mil/types.js'
import { createState, loadFunction } from '../../src/runtime/executor.js'
import { nativeKernels } from '../../src/runtime/native.js'
import type { Tensor } from '../../src/runtime/tensor.js'
import { f32, i32, iota, twoLayers } from './helpers.js'

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
  assert.ok(t.native >= 4, `the four slice_updates are on native tapes: ${JSON.stringify(t)}`)
  assert.ok(t.early > 0, 'the index math runs first')
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
        const begin = b.concat({ values: [pos, [0]], axis: 0 })
        const end = b.concat({ values: [b.add({ x: pos, y: [1] }), [3]], axis: 0 })
        return { row: b.mul({ x: b.slice_by_index({ x, begin, end }), y: 2 }) }
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
