import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chunkModel, lutModel } from '../../test/package/programs.js'
import { buildFunction, buildProgram, constant } from './builder.js'
import { lookupOp } from './ops/index.js'
import { parseMil } from './parse.js'
import { printProgram } from './print.js'
import { walkOps, type Block, type Program, type Var } from './program.js'
import { hexFloat } from './text-values.js'
import { state, tensor, typeToString } from './types.js'
import { materialize, PackedBits, type TensorValue } from './value.js'

/** Everything a round trip must keep: ops, names, types, inputs by name, const values. */
function summary(p: Program, values = true): unknown {
  const data = (v: TensorValue) => {
    const d = materialize(v)
    return d instanceof PackedBits
      ? [...Array(d.length).keys()].map((i) => d.get(i))
      : Array.from(d as ArrayLike<unknown>, String)
  }
  const block = (b: Block): unknown => ({
    inputs: b.inputs.map((v) => `${v.name}: ${typeToString(v.type)}`),
    ops: b.operations.map((op) => ({
      type: op.type,
      name: op.name,
      inputs: Object.fromEntries(
        Object.entries(op.inputs).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.map((x: Var) => x.name) : (v as Var).name,
        ]),
      ),
      outputs: op.outputs.map((v) => `${v.name}: ${typeToString(v.type)}`),
      value: op.value && values ? [typeToString(op.value.type), data(op.value)] : undefined,
      blocks: op.blocks.map(block),
    })),
    outputs: b.outputs.map((v) => v.name),
  })
  return {
    defaultFunction: p.defaultFunction,
    buildInfo: p.buildInfo,
    functions: p.functions.map((f) => ({
      name: f.name,
      opset: f.opset,
      inputs: f.inputs.map((i) => [
        i.var.name,
        typeToString(i.var.type),
        i.flexibility,
        i.defaultShape,
      ]),
      block: block(f.block),
    })),
  }
}

const roundTrip = (p: Program) => parseMil(printProgram(p), 'printed.mil', { strict: true }).program

test('hex floats are C99 %a spellings', () => {
  const cases: [number, string][] = [
    [0.0625, '0x1p-4'],
    [-10000, '-0x1.388p+13'],
    [2, '0x1p+1'],
    [0, '0x0p+0'],
    [-0, '-0x0p+0'],
    [1 / 3, '0x1.5555555555555p-2'],
    [65504, '0x1.ffcp+15'],
    [2 ** -24, '0x1p-24'],
    [5e-324, '0x1p-1074'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [NaN, 'nan'],
  ]
  for (const [v, s] of cases) assert.equal(hexFloat(v), s, String(v))
})

test('golden: a small program prints exactly as expected', () => {
  const w = constant('fp16', [4, 2], [0.5, -1, 2, 0.0625, 0, 1, -2, 3])
  const fn = buildFunction(
    {
      name: 'main',
      inputs: { x: tensor('fp16', [1, 2]), kv: state(tensor('fp16', [1, 4])) },
    },
    (b, { x, kv }) => {
      const y = b.linear({ x, weight: w }, 'proj')
      const parts = b.split({ x: y, num_splits: 2, axis: 1 }, 'halves')
      const s = b.coreml_update_state({ state: kv, value: y }, 'kv_upd')
      return { a: parts[0], b: b.mul({ x: s, y: 0.5 }, 'scaled') }
    },
  )
  const program = buildProgram([fn], { buildInfo: { 'anemll-version': '0.1.0' } })
  const weight = fn.block.operations.find((o) => o.name === 'proj_weight')!.value!
  const text = printProgram(program, { blobOffsets: new Map([[weight, 64]]) })
  const expected = `program(1.3)
[buildInfo = dict<string, string>({{"anemll-version", "0.1.0"}})]
{
    func main<ios18>(tensor<fp16, [1, 2]> x, state<tensor<fp16, [1, 4]>> kv) {
            tensor<fp16, [4, 2]> proj_weight = const()[name = string("proj_weight"), val = tensor<fp16, [4, 2]>(BLOBFILE(path = string("@model_path/weights/weight.bin"), offset = uint64(64)))];
            tensor<fp16, [4]> proj_bias = const()[name = string("proj_bias"), val = tensor<fp16, [4]>([0x0p+0, 0x0p+0, 0x0p+0, 0x0p+0])];
            tensor<fp16, [1, 4]> proj = linear(bias = proj_bias, weight = proj_weight, x = x)[name = string("proj")];
            int32 halves_num_splits = const()[name = string("halves_num_splits"), val = int32(2)];
            int32 halves_axis = const()[name = string("halves_axis"), val = int32(1)];
            tensor<fp16, [1, 2]> a, tensor<fp16, [1, 2]> halves_1 = split(axis = halves_axis, num_splits = halves_num_splits, x = proj)[name = string("halves")];
            write_state(data = proj, input = kv)[name = string("kv_upd_write_state")];
            tensor<fp16, [1, 4]> kv_upd = read_state(input = kv)[name = string("kv_upd")];
            fp16 scaled_y = const()[name = string("scaled_y"), val = fp16(0x1p-1)];
            tensor<fp16, [1, 4]> b = mul(x = kv_upd, y = scaled_y)[name = string("scaled")];
        } -> (a, b);
}
`
  assert.equal(text, expected)
  const back = parseMil(text, 'golden.mil', { strict: true })
  assert.equal(back.blobs.size, 1)
  assert.deepEqual(
    [...back.blobs.values()],
    [{ path: '@model_path/weights/weight.bin', offset: 64 }],
  )
  assert.deepEqual(summary(back.program, false), summary(program, false))
})

test('round trip: stateful multi-function program (slice_update, coreml_update_state)', () => {
  const { program } = chunkModel()
  const back = roundTrip(program)
  assert.deepEqual(summary(back), summary(program))
  const ops = [...walkOps(back.functions[0].block)].map((o) => o.type)
  assert.ok(ops.includes('slice_update') && ops.includes('coreml_update_state'))
  // Printing what we parsed gives the same text again.
  assert.equal(printProgram(back), printProgram(program))
})

test('round trip: LUT constexpr (iOS18 inputs), argmax outputs, weights by BLOBFILE offset', () => {
  const { program } = lutModel()
  const text = printProgram(program)
  // The LUT's consts are inlined into the constexpr, as the proto and compiled text hold them.
  assert.match(text, /constexpr_lut_to_dense\(indices = tensor<uint4, \[32, 16, 1, 1\]>\(\[/)
  assert.doesNotMatch(text, /lm_head_weight_indices = const/)
  assert.deepEqual(summary(roundTrip(program)), summary(program))
  // With blob offsets the values are references; the parse reports where each one lives.
  const offsets = new Map<TensorValue, number>()
  let next = 64
  for (const op of walkOps(program.functions[0].block))
    if (op.value && op.value.type.shape.length > 1) offsets.set(op.value, (next += 128))
  const parsed = parseMil(printProgram(program, { blobOffsets: offsets }), 'lut.mil')
  assert.deepEqual(summary(parsed.program, false), summary(program, false))
  assert.deepEqual(
    [...parsed.blobs.values()].map((b) => b.offset),
    [...offsets.values()],
  )
  assert.throws(() => materialize([...parsed.blobs.keys()][0]), /no weight file was given/)
})

test('round trip: iOS16 attribute-style constexprs, split and topk', () => {
  const fn = buildFunction(
    { name: 'main', opset: 'ios16', inputs: { x: tensor('fp16', [2, 8]) } },
    (b, { x }) => {
      const spec = lookupOp('constexpr_lut_to_dense', 'ios16')!
      const w = b.op(
        spec,
        {
          indices: constant('uint8', [8], [0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]),
          lut: constant(
            'fp16',
            [16],
            [...Array(16).keys()].map((i) => i / 4 - 2),
          ),
          shape: constant('uint32', [2], [4, 4]),
        },
        'w_palettized',
      ) as Var
      const q = b.constexpr_affine_dequantize(
        {
          quantized_data: constant(
            'int8',
            [4, 8],
            [...Array(32).keys()].map((i) => i - 16),
          ),
          zero_point: constant('int8', [], [1]),
          scale: constant('fp16', [4], [0.5, 0.25, 1, 2]),
          axis: constant('int32', [], [0]),
        },
        'q_dequantized',
      )
      const y = b.matmul({ x, y: b.transpose({ x: q, perm: [1, 0] }, 'qt') }, 'xq')
      const [top, idx] = b.topk({ x: y, k: 2, axis: -1 }, 'best')
      const [l, r] = b.split({ x: w, split_sizes: [1, 3], axis: 0 }, 'rows')
      return { top, idx, l, r }
    },
  )
  const program = buildProgram([fn])
  const text = printProgram(program)
  assert.match(text, /constexpr_lut_to_dense\(\)\[indices = tensor<uint8, \[8\]>\(\[16, 50,/)
  assert.match(
    text,
    /constexpr_affine_dequantize\(\)\[axis = int32\(0\), name = string\("q_dequantized"\), quantized_data = /,
  )
  assert.match(text, /tensor<fp16, \[2, 2\]> top, tensor<int32, \[2, 2\]> idx = topk\(/)
  assert.deepEqual(summary(roundTrip(program)), summary(program))
})

test('round trip: strings, bools, ints of every width, fp32/bf16/int64 extremes', () => {
  const fn = buildFunction({ name: 'main', inputs: { x: tensor('fp32', [3]) } }, (b, { x }) => {
    const vals = [
      constant('string', [2], ['say "hi"\n', 'tab\there\\']),
      constant('bool', [3], [true, false, true]),
      constant('int8', [2], [-128, 127]),
      constant('uint16', [2], [0, 65535]),
      constant('int32', [2], [-(2 ** 31), 2 ** 31 - 1]),
      constant('fp32', [3], [3.4028234663852886e38, -1.401298464324817e-45, 0.1]),
      constant('bf16', [2], [1.5, -2]),
      constant('uint1', [10], [1, 0, 1, 1, 0, 0, 1, 0, 1, 1]),
      { type: tensor('int64', [2]), data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    ]
    vals.forEach((v, i) => b.const(v, `c${i}`))
    return { y: b.relu({ x }, 'y') }
  })
  const program = buildProgram([fn])
  assert.deepEqual(summary(roundTrip(program)), summary(program))
  assert.match(printProgram(program), /\["say \\"hi\\"\\n", "tab\\there\\\\"\]/)
})

test('round trip: flexible input shapes and buildInfo', () => {
  const fn = buildFunction(
    {
      name: 'main',
      opset: 'ios16',
      inputs: {
        x: {
          type: tensor('fp16', [1, 'seq', 64]),
          flexibility: {
            kind: 'range',
            ranges: [
              [1, 1],
              [1, 2048],
              [64, 64],
            ],
          },
          defaultShape: [1, 1, 64],
        },
      },
    },
    (b, { x }) => ({ y: b.transpose({ x, perm: [0, 2, 1] }, 'y') }),
  )
  const program = buildProgram([fn], { buildInfo: { a: '1', b: 'two' } })
  const text = printProgram(program)
  assert.match(
    text,
    /func main<ios16>\(tensor<fp16, \[1, \?, 64\]> x\) \[FlexibleShapeInformation = /,
  )
  const back = roundTrip(program)
  const input = back.functions[0].inputs[0]
  assert.deepEqual(input.flexibility, {
    kind: 'range',
    ranges: [
      [1, 1],
      [1, 2048],
      [64, 64],
    ],
  })
  assert.deepEqual(input.defaultShape, [1, 1, 64])
  assert.deepEqual(back.buildInfo, { a: '1', b: 'two' })
})

test('weights shared across functions print as the same BLOBFILE reference', () => {
  const { program } = chunkModel()
  // Both functions' k_proj consts hold the very same TensorValue; one offset serves both.
  const values = program.functions.map(
    (f) => [...walkOps(f.block)].find((op) => op.name.endsWith('k_proj_weight'))!.value!,
  )
  assert.equal(values[0], values[1])
  const text = printProgram(program, { blobOffsets: new Map([[values[0], 128]]) })
  const ref =
    /tensor<fp16, \[16, 16, 1, 1\]> \w+k_proj_weight = const\(\)\[name = string\("\w+k_proj_weight"\), val = tensor<fp16, \[16, 16, 1, 1\]>\(BLOBFILE\(path = string\("@model_path\/weights\/weight.bin"\), offset = uint64\(128\)\)\)\];/g
  assert.equal(text.match(ref)?.length, 2)
})
