import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildFunction, buildProgram } from '../mil/builder.js'
import { tensor } from '../mil/types.js'
import { floatsToHalfs, halfsToFloats } from '../util/fp16.js'
import { loadFunction } from './executor.js'
import { withTypeScriptKernels } from './native.js'
import { makeTensor } from './tensor.js'

// A linear and a conv 1×1 over one large fp16 weight (kept as fp16 bits at run time).
function program() {
  const O = 320
  const C = 256
  const w = Array.from({ length: O * C }, (_, i) => Math.sin(i * 0.37) * 0.1)
  const fn = buildFunction({ name: 'main', inputs: { x: tensor('fp16', [3, C]) } }, (b, { x }) => {
    const weight = b.const({ type: tensor('fp16', [O, C]), data: floatsToHalfs(w) }, 'w')
    const lin = b.linear({ x, weight })
    const w4 = b.reshape({ x: weight, shape: [O, C, 1, 1] })
    const x4 = b.reshape({ x: b.transpose({ x, perm: [1, 0] }), shape: [1, C, 1, 3] })
    const conv = b.conv({ x: x4, weight: w4 })
    return { lin, conv }
  })
  return buildProgram([fn])
}

test('fp16 weights run from their fp16 bits and match the float path', () => {
  const prog = program()
  const x = makeTensor(
    'fp16',
    [3, 256],
    Array.from({ length: 768 }, (_, i) => Math.cos(i) * 2),
  )
  const want = withTypeScriptKernels(() => loadFunction(prog).run({ x }))
  const got = loadFunction(prog).run({ x })
  for (const name of ['lin', 'conv']) {
    const g = got[name].data as Float32Array
    const w = want[name].data as Float32Array
    assert.equal(g.length, w.length)
    // both round to fp16: at most one fp16 step apart
    g.forEach((v, i) =>
      assert.ok(
        Math.abs(v - w[i]) <= 2 ** -9 * Math.max(1, Math.abs(w[i])),
        `${name}[${i}]: ${v} vs ${w[i]}`,
      ),
    )
  }
  // the conv and the linear agree (same weight, same inputs)
  const lin = want.lin.data as Float32Array
  const conv = want.conv.data as Float32Array
  for (let m = 0; m < 3; m++)
    for (let o = 0; o < 320; o++) assert.equal(conv[o * 3 + m], lin[m * 320 + o])
})

test('gather from an fp16 table kept as bits returns its rows', () => {
  const V = 300
  const D = 256 // 76800 elements: kept as fp16 bits
  const table = Array.from({ length: V * D }, (_, i) => Math.sin(i * 0.11) * 3)
  const bits = floatsToHalfs(table)
  const fn = buildFunction(
    { name: 'main', inputs: { ids: tensor('int32', [1, 4]) } },
    (b, { ids }) => {
      const x = b.const({ type: tensor('fp16', [V, D]), data: bits }, 'table')
      return { rows: b.gather({ x, indices: ids, axis: 0 }) }
    },
  )
  const ids = [0, 299, 7, 7]
  const f = loadFunction(buildProgram([fn]))
  const got = f.run({ ids: makeTensor('int32', [1, 4], ids) }).rows
  assert.deepEqual(got.shape, [1, 4, D])
  const want = halfsToFloats(bits)
  ids.forEach((id, r) =>
    assert.deepEqual(
      (got.data as Float32Array).subarray(r * D, (r + 1) * D),
      want.subarray(id * D, (id + 1) * D),
    ),
  )
})
