// The KV-cache fast path: which state reads and slice_updates run in place, and that results are
// those of copying semantics whatever the planner decides.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildFunction, buildProgram } from '../../src/mil/builder.js'
import { state, tensor } from '../../src/mil/types.js'
import { createState, loadFunction } from '../../src/runtime/executor.js'
import { f32, i32, values } from './helpers.js'

/**
 * Two "layers" shaped like src/arch's attention cache write: read the cache, write row l (K) and
 * row 2 + l (V) with two slice_updates, coreml_update_state, then read the layer's rows back.
 * Layer 1's K depends on layer 0's result, so the layers run in order.
 */
function twoLayers() {
  return buildFunction(
    {
      name: 'main',
      inputs: {
        k: tensor('fp32', [1, 2]),
        pos: tensor('int32', [1]),
        kv: state(tensor('fp32', [4, 3, 2])),
      },
    },
    (b, { k, pos, kv }) => {
      let x = k
      const outs: Record<string, ReturnType<typeof b.add>> = {}
      for (const l of [0, 1]) {
        const end = b.add({ x: pos, y: [1] })
        const rows = (r: number) => [
          b.concat({ values: [[r], pos, [0]], axis: 0 }),
          b.concat({ values: [[r + 1], end, [2]], axis: 0 }),
        ]
        const [kb, ke] = rows(l)
        const [vb, ve] = rows(2 + l)
        const cache = b.read_state({ input: kv }, `l${l}_cache`)
        const withK = b.slice_update(
          { x: cache, update: b.reshape({ x, shape: [1, 1, 2] }), begin: kb, end: ke },
          `l${l}_k`,
        )
        const v = b.mul({ x, y: 10 })
        const withKV = b.slice_update(
          { x: withK, update: b.reshape({ x: v, shape: [1, 1, 2] }), begin: vb, end: ve },
          `l${l}_kv`,
        )
        const upd = b.coreml_update_state({ state: kv, value: withKV }, `l${l}_updated`)
        const keys = b.slice_by_index({ x: upd, begin: [l, 0, 0], end: [l + 1, 3, 2] })
        const vals = b.slice_by_index({ x: upd, begin: [2 + l, 0, 0], end: [3 + l, 3, 2] })
        // out = sum over cached rows of K + V (per column)
        const sum = b.add({
          x: b.reduce_sum({ x: keys, axes: [1] }),
          y: b.reduce_sum({ x: vals, axes: [1] }),
        })
        outs[`out${l}`] = sum
        x = b.add({ x, y: sum })
      }
      return outs
    },
  )
}

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
