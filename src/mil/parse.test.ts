import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FormatError } from '../util/errors.js'
import { parseMil } from './parse.js'
import { printProgram } from './print.js'
import { walkOps, type Var } from './program.js'
import { typeToString } from './types.js'
import { toNumbers } from './value.js'

const NEW = `program(1.3)
[buildInfo = dict<string, string>({{"coremltools-version", "9.0"}, {"k", "v"}})]
{
    func main<CoreML8>(tensor<fp16, [1, 4]> x, tensor<int32, [1]> pos) {
        int32 ax = const()[name = string("ax"), val = int32(1)];
        bool il = const()[name = string("il"), val = bool(false)];
        fp16 half = const()[name = string("half"), val = fp16(-0x1.8p-1)];
        tensor<fp16, [1, 8]> cat = concat(axis = ax, interleave = il, values = (x, x))[name = string("cat_op")];
        tensor<fp16, [1, 8]> y = mul(x = cat, y = half)[name = string("y")];
        tensor<fp16, [1, 4]> a, tensor<fp16, [1, 4]> b = split(axis = ax, num_splits = int32(2), x = y)[name = string("halves")];
    } -> (a, b);
}`
// The same program as an older compiler prints it.
const OLD = NEW.replace(/\b(int32|bool|fp16|string)(?=\()/g, 'tensor<$1, []>')
  .replace('dict<string, string>', 'dict<tensor<string, []>, tensor<string, []>>')
  .replace(/^(\s+)(int32|bool|fp16) /gm, '$1tensor<$2, []> ')
  .replace('program(1.3)', 'program(1.0)')
  .replace('<CoreML8>', '<ios18>')

const fails = (text: string, re: RegExp, opts = {}) =>
  assert.throws(
    () => parseMil(text, 'bad.mil', opts),
    (e: Error) => {
      assert.ok(e instanceof FormatError, `${e.name}: ${e.message}`)
      assert.match(e.message, /^bad\.mil: /)
      assert.match(e.message, re)
      return true
    },
  )

test('old and new printer spellings read as the same program', () => {
  assert.match(OLD, /tensor<int32, \[\]> ax = const\(\)\[name = tensor<string, \[\]>\("ax"\)/)
  const a = parseMil(NEW, 'new.mil', { strict: true })
  const b = parseMil(OLD, 'old.mil', { strict: true })
  assert.equal(a.version, '1.3')
  assert.equal(b.version, '1.0')
  assert.equal(printProgram(a.program), printProgram(b.program))
  const fn = a.program.functions[0]
  assert.equal(fn.opset, 'ios18')
  assert.deepEqual(a.program.buildInfo, { 'coremltools-version': '9.0', k: 'v' })
  const ops = [...walkOps(fn.block)]
  const half = ops.find((o) => o.name === 'half')!
  assert.deepEqual(toNumbers(half.value!), [-0.75])
  const cat = ops.find((o) => o.type === 'concat')!
  assert.equal(cat.name, 'cat_op')
  assert.deepEqual(
    (cat.inputs.values as Var[]).map((v) => v.name),
    ['x', 'x'],
  )
  // The inline literal of split becomes a const op named after the parameter.
  const split = ops.find((o) => o.type === 'split')!
  assert.equal((split.inputs.num_splits as Var).producer?.name, 'halves_num_splits')
  assert.deepEqual(
    split.outputs.map((v) => `${v.name} ${typeToString(v.type)}`),
    ['a tensor<fp16, [1, 4]>', 'b tensor<fp16, [1, 4]>'],
  )
  assert.deepEqual(
    fn.block.outputs.map((v) => v.name),
    ['a', 'b'],
  )
})

test('number spellings: hex and decimal floats, inf and nan, 64-bit ints', () => {
  const text = `program(1.3)
{
    func main<ios18>(tensor<fp32, [4]> x) {
        tensor<fp32, [6]> f = const()[name = string("f"), val = tensor<fp32, [6]>([0x1p-4, -0x1.388p+13, 1.5, -2e3, inf, -inf])];
        tensor<fp16, [2]> h = const()[name = string("h"), val = tensor<fp16, [2]>([nan, 0x1.ffcp+15])];
        tensor<int64, [1]> l = const()[name = string("l"), val = tensor<int64, [1]>([-9223372036854775808])];
        tensor<uint64, [1]> u = const()[name = string("u"), val = tensor<uint64, [1]>([18446744073709551615])];
        tensor<int32, [2, 2]> m = const()[name = string("m"), val = tensor<int32, [2, 2]>([[1, 2], [3, 4]])];
    } -> (x);
}`
  const ops = [...walkOps(parseMil(text, 't.mil').program.functions[0].block)]
  const v = (n: string) => ops.find((o) => o.name === n)!.value!
  assert.deepEqual(toNumbers(v('f')), [0.0625, -10000, 1.5, -2000, Infinity, -Infinity])
  assert.ok(Number.isNaN(toNumbers(v('h'))[0]))
  assert.equal(toNumbers(v('h'))[1], 65504)
  assert.deepEqual([...(v('l').data as BigInt64Array)], [-(2n ** 63n)])
  assert.deepEqual([...(v('u').data as BigUint64Array)], [2n ** 64n - 1n])
  assert.deepEqual(toNumbers(v('m')), [1, 2, 3, 4])
})

test('nested blocks (while_loop) parse, scope outer vars, and print back', () => {
  const text = `program(1.3)
{
    func main<ios17>(tensor<int32, [1]> n, tensor<fp32, [2]> acc) {
        tensor<int32, [1]> zero = const()[name = string("zero"), val = tensor<int32, [1]>([0])];
        tensor<int32, [1]> i_out, tensor<fp32, [2]> acc_out = while_loop(loop_vars = (zero, acc))[name = string("loop")]
            loop_cond(tensor<int32, [1]> i, tensor<fp32, [2]> a) {
                tensor<bool, [1]> go = less(x = i, y = n)[name = string("go")];
            } -> (go)
            loop_body(tensor<int32, [1]> i, tensor<fp32, [2]> a) {
                tensor<int32, [1]> one = const()[name = string("one"), val = tensor<int32, [1]>([1])];
                tensor<int32, [1]> i2 = add(x = i, y = one)[name = string("i2")];
                tensor<fp32, [2]> a2 = add(x = a, y = acc)[name = string("a2")];
            } -> (i2, a2);
    } -> (acc_out);
}`
  const fn = parseMil(text, 'loop.mil').program.functions[0]
  const loop = fn.block.operations[1]
  assert.equal(loop.type, 'while_loop')
  // A known op: its outputs were checked against the loop vars' types.
  assert.equal(loop.opaque, undefined)
  assert.equal(loop.blocks.length, 2)
  const [cond, body] = loop.blocks
  assert.deepEqual(
    cond.inputs.map((v) => v.name),
    ['i', 'a'],
  )
  assert.equal(cond.outputs[0].producer?.type, 'less')
  // The body reads `acc`, a var of the enclosing function.
  const a2 = body.operations.find((o) => o.name === 'a2')!
  assert.equal(a2.inputs.y, fn.inputs[1].var)
  assert.equal(typeToString(fn.block.outputs[0].type), 'tensor<fp32, [2]>')
  const again = parseMil(printProgram(parseMil(text, 'loop.mil').program), 'again.mil').program
  assert.equal(printProgram(again), printProgram(parseMil(text, 'loop.mil').program))
  assert.equal([...walkOps(again.functions[0].block)].length, 6)
})

test('write_state + read_state named X_write_state / X merge into coreml_update_state', () => {
  const text = (w: string) => `program(1.3)
{
    func main<ios18>(tensor<fp16, [2]> x, state<tensor<fp16, [2]>> s) {
        write_state(data = x, input = s)[name = string("${w}")];
        tensor<fp16, [2]> y = read_state(input = s)[name = string("upd")];
    } -> (y);
}`
  const merged = parseMil(text('upd_write_state'), 'a.mil').program.functions[0].block.operations
  assert.deepEqual(
    merged.map((o) => o.type),
    ['coreml_update_state'],
  )
  assert.equal(merged[0].outputs[0].producer, merged[0])
  const apart = parseMil(text('w0'), 'b.mil').program.functions[0].block.operations
  assert.deepEqual(
    apart.map((o) => o.type),
    ['write_state', 'read_state'],
  )
})

test('unknown ops: opaque by default, an error when strict', () => {
  const text = `program(1.0)
{
    func main<ios15>(tensor<fp32, [1, 4]> x) {
        tensor<fp32, [1, 4]> y, tensor<fp32, [1]> z = frobnicate(x = x)[name = string("rnn")];
    } -> (y, z);
}`
  const op = parseMil(text, 'm.mil').program.functions[0].block.operations[0]
  assert.equal(op.opaque, true)
  assert.equal(typeToString(op.outputs[1].type), 'tensor<fp32, [1]>')
  fails(text, /unknown op 'frobnicate' \(function main\)/, { strict: true })
})

test('declared types that disagree with type inference name the function, op and both types', () => {
  const body = (decl: string, op = 'mul(x = x, y = x)') => `program(1.3)
{
    func f<ios18>(tensor<fp16, [1, 10]> x) {
        ${decl} y = ${op}[name = string("op_3")];
    } -> (y);
}`
  fails(
    body('tensor<fp16, [1, 11]>'),
    /function f, op 'op_3' \(mul\): declared tensor<fp16, \[1, 11\]> but inferred tensor<fp16, \[1, 10\]>/,
  )
  fails(body('tensor<fp32, [1, 10]>'), /declared tensor<fp32, \[1, 10\]> but inferred tensor<fp16/)
  fails(body('tensor<fp16, [1, 10]>', 'mul(x = x)'), /op 'op_3' \(mul\): missing input 'y'/)
  fails(body('tensor<fp16, [1, 10]>', 'mul(x = x, y = x, z = x)'), /unknown parameter 'z'/)
  fails(body('tensor<fp16, [1, 10]>', 'mul(x = x, y = w)'), /unknown var 'w'/)
  fails(body('tensor<fp16, [1, 10]>', 'relu(x = int32(1))'), /input 'x' is int32; allowed dtypes/)
  fails(
    body('tensor<fp16, [1, ?]>', 'reshape(x = x, shape = tensor<int32, [2]>([3, -1]))'),
    /cannot reshape/,
  )
  // `?` in a declared type matches any inferred size.
  parseMil(body('tensor<fp16, [1, ?]>'), 'ok.mil', { strict: true })
})

test('syntax errors give line, column, what was expected and what was found', () => {
  const ok = `program(1.3)
{
    func main<ios18>(tensor<fp16, [2]> x) {
        tensor<fp16, [2]> y = relu(x = x)[name = string("y")];
    } -> (y);
}`
  parseMil(ok, 'ok.mil', { strict: true })
  fails(ok.replace('")];', '")]'), /line 5 col 5: expected ';' or a nested block, got '}'/)
  fails(
    ok.replace('tensor<fp16, [2]> y', 'tensr<fp16, [2]> y'),
    /line 4 col 9: unknown type 'tensr'/,
  )
  fails(ok.replace('fp16, [2]> x', 'fp17, [2]> x'), /line 3 col 29: unknown dtype 'fp17'/)
  fails(ok.replace('string("y")', 'string("y)'), /line 4 col \d+: unterminated string/)
  fails(ok.replace('relu(', 'relu#('), /line 4 col 35: unexpected character '#'/)
  fails(ok.replace('-> (y);\n}', '-> (y);\n'), /line 6 col 1: expected 'func', got end of file/)
  fails(ok.replace('<ios18>', '<ios99>'), /unknown opset 'ios99'/)
  fails(ok.replace('(x = x)', '(x = y)'), /unknown var 'y'/)
  fails(ok.replace('-> (y)', '-> (x, q)'), /unknown var 'q'/)
  fails(ok.replace('tensor<fp16, [2]> y', 'tensor<fp16, [2]> x'), /var 'x' is defined twice/)
  fails(ok.replace('[2]> x', '[-2]> x'), /line 3 col 36: bad dimension -2/)
  fails('program(1.0) {', /expected 'func', got end of file/)
  fails('', /line 1 col 1: expected 'program', got end of file/)
})

test(
  'hostile input: deep nesting, huge shapes and out-of-range numbers fail fast',
  { timeout: 60_000 },
  () => {
    const deep = (n: number) =>
      `program(1.3) { func main<ios18>() { tensor<int32, [1]> c = const()[name = string("c"), val = tensor<int32, [1]>(${'['.repeat(n)}1${']'.repeat(n)})]; } -> (c); }`
    parseMil(deep(3), 'ok.mil')
    fails(deep(100_000), /nesting deeper than 64/)
    fails(`program(1.3) { func main<ios18>(${'state<'.repeat(5000)}`, /nesting deeper than 64/)
    fails(
      `program(1.3) { func main<ios18>() ${'{ tensor<int32, [1]> c = while_loop()[name = string("w")] () '.repeat(200)}`,
      /nesting deeper than 64/,
    )
    const konst = (t: string, v: string) =>
      `program(1.3) { func main<ios18>() { ${t} c = const()[name = string("c"), val = ${t}(${v})]; } -> (c); }`
    fails(konst('tensor<fp16, [1000000000000]>', '[1]'), /needs 1000000000000 values, got 1/)
    fails(konst('tensor<fp16, [9007199254740993]>', '[1]'), /bad dimension/)
    fails(konst('int8', '200'), /200 is not a int8 value/)
    fails(konst('int32', '1.5'), /1\.5 is not a int32 value/)
    fails(konst('tensor<int64, [1]>', '[9223372036854775808]'), /is not a int64 value/)
    fails(konst('bool', '2'), /2 is not a bool value/)
    fails(konst('string', '1'), /1 is not a string value/)
    fails(
      konst(
        'tensor<fp16, [2]>',
        'BLOBFILE(path = string("@model_path/weights/weight.bin"), offset = uint64(99999999999999999999))',
      ),
      /bad BLOBFILE offset/,
    )
  },
)
