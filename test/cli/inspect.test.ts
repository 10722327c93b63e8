import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { anemll } from './run.js'

const FIX = join(import.meta.dirname, '../fixtures/coremltools')
const SHARED = join(import.meta.dirname, '../../../shared/models/coreml')

test('inspect --json on a coremltools multi-function package', () => {
  const r = anemll(['inspect', join(FIX, 'multifunction.mlpackage'), '--json'])
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout)
  assert.equal(s.defaultFunction, 'infer')
  assert.deepEqual(Object.keys(s.functions).sort(), ['infer', 'prefill'])
  assert.deepEqual(s.functions.prefill.states, [{ name: 'kv', dtype: 'fp16', shape: [1, 16, 16] }])
  // the two shared fp16 weights are counted once
  assert.equal(s.weightsByDtype.fp16.tensors, 2)
})

test('inspect on a LUT package and a compiled model', () => {
  const lut = anemll(['inspect', join(FIX, 'lut.mlpackage')])
  assert.equal(lut.code, 0, lut.stderr)
  assert.match(lut.stdout, /by compression .*lut4/)
  assert.match(lut.stdout, /lut6/)
  const c = anemll(['inspect', join(SHARED, 'silero-vad-lut4/unified_palette_4bit.mlmodelc')])
  assert.equal(c.code, 0, c.stderr)
  assert.match(c.stdout, /spec 7 · ios16/)
  assert.match(c.stdout, / lstm 1, pad 1,/)
  assert.doesNotMatch(c.stdout, /unknown/)
})

// Every op in the real coremltools-made files is known: pad and lstm (PyTorch), while_loop
// with cond/body blocks that both name the loop vars, stack and the list ops (TensorFlow).
for (const model of [
  'silero-vad-fp16/silero-vad-unified-v6.0.0.mlpackage',
  'silero-vad-lut4/unified_palette_4bit.mlmodelc',
  'dtln-aec-128/DTLN_AEC_128_Part1.mlpackage',
  'dtln-aec-128/DTLN_AEC_128_Part2.mlpackage',
])
  test(`inspect --strict reads ${model.split('/')[0]} (${model.split('.').pop()})`, () => {
    const r = anemll(['inspect', '--strict', '--json', join(SHARED, model)])
    assert.equal(r.code, 0, r.stderr)
    const fn = JSON.parse(r.stdout).functions.main
    assert.deepEqual(fn.opaqueOps, [])
    if (model.startsWith('dtln')) {
      assert.equal(fn.ops.while_loop, 2)
      assert.equal(fn.ops.list_gather, 2)
    } else assert.equal(fn.ops.lstm, 1)
  })

test('inspect --mil prints MIL text', () => {
  const r = anemll(['inspect', join(FIX, 'stateful.mlpackage'), '--mil'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^program\(1\.\d\)/)
  assert.match(r.stdout, /func main<ios18>\(/)
  assert.match(r.stdout, /state<tensor<fp16, \[1, 8, 16\]>> kv/)
  assert.match(r.stdout, /write_state\(/)
})

test('inspect errors are one line with a non-zero exit', () => {
  const missing = anemll(['inspect', '/nonexistent/model.mlpackage'])
  assert.equal(missing.code, 1)
  assert.equal(missing.stderr.trim().split('\n').length, 1)
  assert.match(missing.stderr, /nonexistent\/model\.mlpackage/)
  const usage = anemll(['inspect'])
  assert.equal(usage.code, 1)
  assert.match(usage.stderr, /expected one model path/)
  const typo = anemll(['inspekt'])
  assert.equal(typo.code, 2)
  assert.match(typo.stderr, /Did you mean 'inspect'/)
})
