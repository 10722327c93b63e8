// The KV-cache fast path: which state reads and slice_updates run in place, and that results are
// those of copying semantics whatever the planner decides.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildFunction, buildProgram } from '../../src/mil/builder.js'
import { state, tensor } from '../../src/mil/types.js'
import { createState, loadFunction } from '../../src/runtime/executor.js'
import { f32, i32, twoLayers, values } from './helpers.js'

test('a two-slice_update KV write per layer runs fully in place and matches copy semantics', () => {
  const exe = loadFunction(buildProgram([twoLayers()]), 'main', { poisonBuffers: true })
  const plan = exe.describePlan()
  const inPlace = plan.filter((s) => s.inPlace).map((s) => `${s.opType}:${s.varName}`)
  assert.deepEqual(inPlace, [
    'read_state:l0_cache',
    'slice_update:l0_k',
    'slice_update:l0_kv',
    'read_state:l1_cache',
    'slice_update:l1_k',
    'slice_update:l1_kv',
  ])
  const st = createState(exe)
  const buffer = st.get('kv').data
  // call 1 at pos 0 with k = [1, 2]: layer 0 caches K [1,2], V [10,20] → out0 = [11, 22];
  // layer 1 gets x = [12, 24] → out1 = [132, 264]
  const a = exe.run({ k: f32([1, 2], [1, 2]), pos: i32([1], [0]) }, st)
  assert.deepEqual(
    [values(a.out0), values(a.out1)],
    [
      [11, 22],
      [132, 264],
    ],
  )
  // call 2 at pos 2 with k = [1, 1]: layer 0 adds K [1,1], V [10,10] → out0 = [22, 33]
  // layer 1: x = [23, 34] → rows: K [12,24] + [23,34], V [120,240] + [230,340] → [385, 638]
  const b = exe.run({ k: f32([1, 2], [1, 1]), pos: i32([1], [2]) }, st)
  assert.deepEqual(
    [values(b.out0), values(b.out1)],
    [
      [22, 33],
      [385, 638],
    ],
  )
  assert.equal(st.get('kv').data, buffer)
  assert.deepEqual(values(st.get('kv')).slice(0, 6), [1, 2, 0, 0, 1, 1])
})

test('a state view still in use after a later write falls back to a copy', () => {
  const fn = buildFunction(
    { name: 'main', inputs: { x: tensor('fp32', [2]), s: state(tensor('fp32', [2])) } },
    (b, { x, s }) => {
      const old = b.read_state({ input: s }, 'old')
      const cur = b.read_state({ input: s }, 'cur')
      const upd = b.slice_update({ x: cur, update: x, begin: [0], end: [2] }, 'upd')
      const now = b.coreml_update_state({ state: s, value: upd }, 'now')
      // `old` is read after the write: it must still hold the previous contents
      return { before: b.mul({ x: old, y: 1 }), after: b.mul({ x: now, y: 1 }), peek: old }
    },
  )
  const exe = loadFunction(buildProgram([fn]), 'main', { poisonBuffers: true })
  const inPlace = exe
    .describePlan()
    .filter((s) => s.inPlace)
    .map((s) => s.varName)
  assert.deepEqual(inPlace, ['cur', 'upd'])
  const st = createState(exe)
  exe.run({ x: f32([2], [1, 2]) }, st)
  const r = exe.run({ x: f32([2], [5, 7]) }, st)
  assert.deepEqual(values(r.before), [1, 2])
  assert.deepEqual(values(r.peek), [1, 2])
  assert.deepEqual(values(r.after), [5, 7])
  assert.deepEqual(values(st.get('s')), [5, 7])
})
