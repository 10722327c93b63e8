// Executor behaviour: states across calls and functions, the KV-cache in-place path, strict-fp16
// reports, the debug hook, constant folding, and errors for ops it cannot run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { buildFunction, buildProgram, constant } from '../../src/mil/builder.js'
import { state, tensor } from '../../src/mil/types.js'
import { readPackage } from '../../src/package/read.js'
import { createState, loadFunction } from '../../src/runtime/executor.js'
import { Fp16RangeError } from '../../src/runtime/fp16-check.js'
import { UnsupportedOpError } from '../../src/runtime/kernel.js'
import { makeTensor } from '../../src/runtime/tensor.js'
import { f32, i32, run, values } from './helpers.js'

const SHARED = join(import.meta.dirname, '../../../shared/models/coreml')

/** A KV-cache-like program: writes row `pos` of a [1, 4, 2] fp16 cache, returns the cache sum per row. */
function kvProgram() {
  const kv = state(tensor('fp16', [1, 4, 2]))
  const write = buildFunction(
    { name: 'write', inputs: { row: tensor('fp16', [1, 1, 2]), pos: tensor('int32', [1]), kv } },
    (b, { row, pos, kv }) => {
      const end = b.add({ x: pos, y: [1] })
      const begin = b.concat({ values: [[0], pos, [0]], axis: 0 })
      const stop = b.concat({ values: [[1], end, [2]], axis: 0 })
      const cache = b.read_state({ input: kv })
      const upd = b.slice_update({ x: cache, update: row, begin, end: stop })
      const now = b.coreml_update_state({ state: kv, value: upd })
      return { total: b.reduce_sum({ x: now, axes: [-1] }) }
    },
  )
  const peek = buildFunction({ name: 'peek', inputs: { kv } }, (b, { kv }) => ({
    cache: b.read_state({ input: kv }),
  }))
  return buildProgram([write, peek])
}

test('state writes are visible across calls and across functions sharing the State', () => {
  const prog = kvProgram()
  const write = loadFunction(prog, 'write', { poisonBuffers: true })
  const peek = loadFunction(prog, 'peek')
  const st = createState(write, peek)
  assert.deepEqual(st.names(), ['kv'])
  // the cache is read and updated in place (no copy of the state per call)
  const inPlace = write
    .describePlan()
    .filter((s) => s.inPlace)
    .map((s) => s.opType)
  assert.deepEqual(inPlace, ['read_state', 'slice_update'])
  const kvData = st.get('kv').data
  const row = (a: number, b: number) => f32([1, 1, 2], [a, b])
  write.run({ row: row(1, 2), pos: i32([1], [0]) }, st)
  write.run({ row: row(3, 4), pos: i32([1], [2]) }, st)
  const out = write.run({ row: row(0.5, 0.25), pos: i32([1], [3]) }, st)
  assert.deepEqual(values(out.total), [3, 0, 7, 0.75])
  assert.equal(st.get('kv').data, kvData)
  const seen = peek.run({}, st).cache
  assert.deepEqual(values(seen), [1, 2, 0, 0, 3, 4, 0.5, 0.25])
  // outputs are copies: changing one does not change the state
  seen.data[0] = 99
  assert.equal(st.get('kv').data[0], 1)
  st.reset()
  assert.deepEqual(values(peek.run({}, st).cache), new Array(8).fill(0))
})

test('a state declared with another shape is refused', () => {
  const a = loadFunction(kvProgram(), 'peek')
  const other = buildFunction(
    { name: 'main', inputs: { kv: state(tensor('fp16', [1, 2, 2])) } },
    (b, { kv }) => ({
      y: b.read_state({ input: kv }),
    }),
  )
  const b = loadFunction(buildProgram([other]))
  assert.throws(() => createState(a, b), /state 'kv' is fp16 \[1, 4, 2\].*\[1, 2, 2\]/)
  assert.throws(() => a.run({}), /has states; pass createState/)
})

test('read_state, coreml_update_state and a plain state write', () => {
  const out = [1, 2, 3].map(() => undefined)
  const fn = buildFunction(
    { name: 'main', inputs: { x: tensor('fp32', [2]), acc: state(tensor('fp32', [2])) } },
    (b, { x, acc }) => {
      const s = b.read_state({ input: acc })
      const sum = b.add({ x: s, y: x })
      b.write_state({ input: acc, data: sum })
      return { before: s, after: b.read_state({ input: acc }) }
    },
  )
  const exe = loadFunction(buildProgram([fn]))
  const st = createState(exe)
  const results = out.map(() => exe.run({ x: f32([2], [1, 10]) }, st))
  assert.deepEqual(values(results[0].before), [0, 0])
  assert.deepEqual(values(results[2].before), [2, 20])
  assert.deepEqual(values(results[2].after), [3, 30])
})

test('strict fp16 names the first op that overflows or turns NaN', () => {
  const fn = buildFunction({ name: 'main', inputs: { x: tensor('fp32', [3]) } }, (b, { x }) => {
    const big = b.mul({ x, y: 300 }, 'scaled')
    const huge = b.mul({ x: big, y: 300 }, 'layers_3_mlp_up')
    const neg = b.sub({ x, y: 10 }, 'shifted')
    return { y: b.add({ x: huge, y: 1 }), r: b.sqrt({ x: neg }, 'root') }
  })
  const prog = buildProgram([fn])
  const x = f32([3], [1, 2, 3])
  // fp32 without strict mode: no complaint
  const plain = loadFunction(prog).run({ x })
  assert.deepEqual(values(plain.y), [90001, 180001, 270001])
  const strict = loadFunction(prog, 'main', { strictFp16: true })
  assert.throws(
    () => strict.run({ x }),
    (e: unknown) => {
      assert.ok(e instanceof Fp16RangeError)
      assert.equal(e.issue.varName, 'layers_3_mlp_up')
      assert.equal(e.issue.kind, 'overflow')
      assert.equal(e.issue.index, 0)
      assert.match(e.message, /fp16 overflow in mul 'layers_3_mlp_up'/)
      return true
    },
  )
  assert.throws(
    () => strict.run({ x: f32([3], [0.001, 0.002, 0.003]) }),
    (e: unknown) => {
      assert.ok(e instanceof Fp16RangeError)
      assert.deepEqual([e.issue.varName, e.issue.kind], ['r', 'nan'])
      return true
    },
  )
  // an infinity already in the input is not blamed on later ops
  const pass = buildFunction({ name: 'main', inputs: { x: tensor('fp32', [2]) } }, (b, { x }) => ({
    y: b.add({ x, y: 1 }),
  }))
  const fine = loadFunction(buildProgram([pass]), 'main', { strictFp16: true }).run({
    x: f32([2], [Infinity, 0.1]),
  }).y
  assert.deepEqual(values(fine), [Infinity, 1.099609375])
})

test('fp16 programs round every computed output to fp16', () => {
  const out = run({ x: makeTensor('fp16', [2], [1, 3]) }, (b, { x }) => ({
    y: b.real_div({ x, y: x }),
    z: b.real_div({ x: b.const(1, 'one', 'fp16'), y: x }),
  }))
  assert.equal(out.z.dtype, 'fp16')
  assert.deepEqual(values(out.z), [1, 0.333251953125])
})

test('the debug hook sees named intermediates; constants fold at load', () => {
  const fn = buildFunction({ name: 'main', inputs: { x: tensor('fp32', [2]) } }, (b, { x }) => {
    const w = b.add(
      { x: constant('fp32', [2], [1, 2]), y: constant('fp32', [2], [10, 20]) },
      'folded',
    )
    const n = b.scope('layers.3', () => b.mul({ x, y: w }, 'attn_norm'))
    return { y: b.relu({ x: n }) }
  })
  const exe = loadFunction(buildProgram([fn]))
  const seen: Record<string, number[]> = {}
  exe.run({ x: f32([2], [1, -1]) }, undefined, {
    onVar: (name, t, type) => (seen[`${type}:${name}`] = values(t)),
  })
  assert.deepEqual(seen, { 'mul:layers_3_attn_norm': [11, -22], 'relu:y': [11, 0] })
  const only: string[] = []
  exe.run({ x: f32([2], [1, 1]) }, undefined, { watch: ['y'], onVar: (n) => only.push(n) })
  assert.deepEqual(only, ['y'])
})

test('inputs are checked by name, dtype and shape', () => {
  const exe = loadFunction(kvProgram(), 'write')
  const st = createState(exe)
  const row = f32([1, 1, 2], [1, 2])
  assert.throws(() => exe.run({ row }, st), /missing input 'pos'/)
  assert.throws(
    () => exe.run({ row, pos: f32([1], [0]) }, st),
    /input 'pos' must be int32, got fp32/,
  )
  assert.throws(
    () => exe.run({ row: f32([1, 2], [1, 2]), pos: i32([1], [0]) }, st),
    /has shape \[1, 2\]/,
  )
  // fp16 inputs may come as raw bits
  const out = exe.run(
    { row: makeTensor('fp16', [1, 1, 2], Uint16Array.of(0x3c00, 0x4000)), pos: i32([1], [1]) },
    st,
  )
  assert.deepEqual(values(out.total), [0, 3, 0, 0])
})

test('an op without a kernel is an UnsupportedOpError naming the op type and var', () => {
  const model = readPackage(join(SHARED, 'silero-vad-fp16/silero-vad-unified-v6.0.0.mlpackage'))
  assert.throws(
    () => loadFunction(model),
    (e: unknown) => {
      assert.ok(e instanceof UnsupportedOpError)
      // silero's first op without a kernel: pad (read and type-checked, never run; also lstm)
      assert.equal(e.opType, 'pad')
      assert.match(e.message, /^cannot execute pad '[A-Za-z_0-9]+': no kernel for this op type$/)
      return true
    },
  )
})

test('packed LUT weights give exactly the outputs of densely decoded ones', () => {
  const model = readPackage(join(import.meta.dirname, '../fixtures/coremltools/lut.mlpackage'))
  const x = makeTensor(
    'fp16',
    [1, 16, 1, 4],
    Array.from({ length: 64 }, (_, i) => Math.sin(i)),
  )
  const packed = loadFunction(model).run({ x })
  const decoded = loadFunction(model, 'main', { denseWeights: true }).run({ x })
  assert.deepEqual(packed, decoded)
  assert.ok(values(packed.head).some((v) => v !== 0))
})

test('flexible inputs: shapes within the declared range run, others are refused', () => {
  const fn = buildFunction(
    {
      name: 'main',
      inputs: {
        x: {
          type: tensor('fp32', [1, 'seq']),
          flexibility: {
            kind: 'range',
            ranges: [
              [1, 1],
              [1, 8],
            ],
          },
          defaultShape: [1, 4],
        },
      },
    },
    (b, { x }) => ({ y: b.mul({ x, y: 2 }), s: b.reduce_sum({ x, axes: [-1] }) }),
  )
  const exe = loadFunction(buildProgram([fn]))
  const three = exe.run({ x: f32([1, 3], [1, 2, 3]) })
  assert.deepEqual(three.y.shape, [1, 3])
  assert.deepEqual(values(three.s), [6])
  assert.deepEqual(values(exe.run({ x: f32([1, 5], [1, 1, 1, 1, 1]) }).s), [5])
  assert.throws(() => exe.run({ x: f32([1, 9], new Array(9).fill(0)) }), /has shape \[1, 9\]/)
})
