import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildFunction, buildProgram, constant, FunctionBuilder, sanitizeName } from './builder.js'
import { MilTypeError } from './op-spec.js'
import { state, tensor, typeToString } from './types.js'
import { materialize } from './value.js'

const W = (o: number, i: number) => constant('fp16', [o, i, 1, 1], new Array(o * i).fill(0.5))

test('a conv/norm/attention-shaped function infers every type', () => {
  const fn = buildFunction(
    {
      name: 'main',
      inputs: { hidden_states: tensor('fp16', [1, 8, 1, 4]), position_ids: tensor('int32', [4]) },
    },
    (b, { hidden_states: x }) => {
      const q = b.scope('layers.0', () => b.conv({ x, weight: W(16, 8) }, 'q_proj'))
      const r = b.reshape({ x: q, shape: [1, 2, 8, 4] }, 'q_heads')
      const t = b.transpose({ x: r, perm: [0, 1, 3, 2] })
      const s = b.matmul({ x: t, y: r }, 'scores')
      const p = b.softmax({ x: s, axis: -1 })
      const m = b.reduce_mean({ x: p, axes: [-1], keep_dims: true })
      const parts = b.split({ x: q, num_splits: 2, axis: 1 })
      return { probs: p, mean: m, first: parts[0] }
    },
  )
  const types = Object.fromEntries(
    fn.block.operations.flatMap((o) => o.outputs.map((v) => [v.name, typeToString(v.type)])),
  )
  assert.equal(types.layers_0_q_proj, 'tensor<fp16, [1, 16, 1, 4]>')
  assert.equal(types.q_heads, 'tensor<fp16, [1, 2, 8, 4]>')
  assert.equal(types.scores, 'tensor<fp16, [1, 2, 4, 4]>')
  assert.deepEqual(
    fn.block.outputs.map((v) => v.name),
    ['probs', 'mean', 'first'],
  )
  assert.equal(typeToString(fn.block.outputs[1].type), 'tensor<fp16, [1, 2, 4, 1]>')
  // conv defaults are materialised as named consts, as coremltools does.
  const conv = fn.block.operations.find((o) => o.type === 'conv')!
  assert.deepEqual(Object.keys(conv.inputs).sort(), [
    'dilations',
    'groups',
    'pad',
    'pad_type',
    'strides',
    'weight',
    'x',
  ])
  const strides = conv.inputs.strides as { constValue?: { type: unknown } }
  assert.equal(typeToString(strides.constValue!.type as never), 'tensor<int32, [2]>')
  // a literal operand takes the dtype of the other operand
  const b = new FunctionBuilder()
  const x = b.input('x', tensor('fp16', [2, 3]))
  const y = b.add({ x, y: 1.5 })
  const lit = b.operations.find((o) => o.type === 'const')!
  assert.equal(lit.value!.type.dtype, 'fp16')
  assert.equal(typeToString(y.type), 'tensor<fp16, [2, 3]>')
})

test('shape and dtype errors name the op, the input and both shapes', () => {
  const b = new FunctionBuilder()
  const x = b.input('x', tensor('fp16', [1, 8, 1, 4]))
  assert.throws(
    () => b.conv({ x, weight: W(16, 6) }, 'layers.1.o_proj'),
    (e: Error) => {
      assert.ok(e instanceof MilTypeError)
      assert.match(e.message, /conv 'layers_1_o_proj'/)
      assert.match(e.message, /\[16, 6, 1, 1\]/)
      assert.match(e.message, /\[1, 8, 1, 4\]/)
      return true
    },
  )
  const i = b.input('i', tensor('int32', [4]))
  assert.throws(() => b.add({ x, y: i }), /int32 but another input of type T is fp16/)
  assert.throws(
    () => b.mul({ x, y: b.input('z', tensor('fp16', [3])) }),
    /cannot broadcast 'x' \[1, 8, 1, 4\] with 'y' \[3\]/,
  )
  assert.throws(() => b.reshape({ x, shape: [5, -1] }), /cannot reshape \[1, 8, 1, 4\]/)
  assert.throws(
    () =>
      b.linear({
        x: b.input('h', tensor('fp32', [2, 8])),
        weight: b.input('w', tensor('fp32', [4, 8])),
      }),
    /must be a constant/,
  )
  // @ts-expect-error unknown input names are rejected by the type checker and at run time
  assert.throws(() => b.relu({ x, alpha: 1 }), /unknown input 'alpha'/)
})

test('states, slice_update and coreml_update_state', () => {
  const fn = buildFunction(
    {
      name: 'infer',
      inputs: {
        x: tensor('fp16', [1, 1, 64]),
        pos: tensor('int32', [1]),
        kv: state(tensor('fp16', [1, 128, 64])),
      },
    },
    (b, { x, pos, kv }) => {
      const cache = b.read_state({ input: kv }, 'cache')
      const end = b.add({ x: pos, y: [1] })
      const begin = b.concat({ values: [[0], pos, [0]], axis: 0 })
      const stop = b.concat({ values: [[1], end, [64]], axis: 0 })
      const upd = b.slice_update({ x: cache, update: x, begin, end: stop }, 'cache2')
      const y = b.coreml_update_state({ state: kv, value: upd }, 'upd')
      return { y }
    },
  )
  assert.equal(typeToString(fn.block.outputs[0].type), 'tensor<fp16, [1, 128, 64]>')
  assert.equal(fn.inputs[2].var.type.kind, 'state')
  const b = new FunctionBuilder()
  const kv = b.input('kv', state(tensor('fp16', [2, 2])))
  assert.throws(
    () => b.coreml_update_state({ state: kv, value: b.input('v', tensor('fp16', [2, 3])) }),
    /must have the state's type/,
  )
  assert.throws(() => b.relu({ x: kv }), /cannot be a state/)
})

test('LUT constexpr: per-grouped-channel shapes are checked', () => {
  const b = new FunctionBuilder()
  const indices = b.const(constant('uint4', [8, 4, 1, 1], new Array(32).fill(3)), 'w_indices')
  const lut = b.const(
    constant(
      'fp16',
      [2, 1, 1, 1, 16, 1],
      new Array(32).fill(0).map((_, i) => i),
    ),
    'w_lut',
  )
  const w = b.constexpr_lut_to_dense({ indices, lut }, 'w')
  assert.equal(typeToString(w.type), 'tensor<fp16, [8, 4, 1, 1]>')
  const bad = b.const(constant('fp16', [3, 1, 1, 1, 16, 1], new Array(48).fill(0)), 'bad_lut')
  assert.throws(
    () => b.constexpr_lut_to_dense({ indices, lut: bad }),
    /not divisible by the lut's group count 3/,
  )
  assert.equal(materialize(indices.constValue!).constructor.name, 'PackedBits')
})

test('names: sanitized, unique, outputs renamed to feature names', () => {
  assert.equal(sanitizeName('model.layers.3.attn'), 'model_layers_3_attn')
  assert.equal(sanitizeName('3x'), '_3x')
  assert.equal(sanitizeName('state'), 'state_workaround')
  const fn = buildFunction({ name: 'main', inputs: { x: tensor('fp32', [2]) } }, (b, { x }) => ({
    a: b.relu({ x }, 'act'),
    b: b.relu({ x }, 'act'),
    x_copy: x,
  }))
  assert.deepEqual(
    fn.block.outputs.map((v) => v.name),
    ['a', 'b', 'x_copy'],
  )
  assert.equal(fn.block.outputs[2].producer?.type, 'identity')
  const p = buildProgram([fn])
  assert.equal(p.defaultFunction, 'main')
  assert.throws(() => buildProgram([fn, fn]), /unique/)
})
