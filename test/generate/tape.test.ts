// Decoding through tapes (Executable.runTaped) against the interpreter, on real stories260K
// conversions of every layout: the same prefill, then a decode step at every position of the
// window, each head output compared bit for bit. Tapes are kept per KV cache, so two caches
// decoded in turns must each stay right; inputs of another shape, and runs without the native
// kernels, fall back to the interpreter.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readMeta } from '../../src/generate/meta.js'
import { loadRunner, type Runner } from '../../src/generate/parts.js'
import type { HeadOutput } from '../../src/generate/head.js'
import { readPackage } from '../../src/package/read.js'
import { createState, loadFunction } from '../../src/runtime/executor.js'
import { nativeKernels, withTypeScriptKernels } from '../../src/runtime/native.js'
import { makeTensor } from '../../src/runtime/tensor.js'
import { BATCH, CONTEXT, convertedDir, type Variant } from './helpers.js'
import { join } from 'node:path'
import { readdirSync } from 'node:fs'

const flat = (o: HeadOutput): unknown[] =>
  o.kind === 'logits' ? Array.from(o.logits) : [JSON.stringify(o)]

/** Every decode step's head output of `r` from a prefilled cache, positions B..C−1. */
function decode(r: Runner, seed: number, other?: Runner) {
  const ids = Array.from({ length: BATCH }, (_, i) => 1 + ((i * 37 + seed) % 500))
  const s = r.newState()
  const s2 = other?.newState()
  r.prefill(s, ids, 0)
  if (other) other.prefill(s2!, ids, 0)
  const outs: unknown[][] = []
  let id = ids.at(-1)!
  for (let p = BATCH; p < CONTEXT; p++) {
    const o = r.infer(s, id, p, true)
    outs.push(flat(o))
    // a second cache decoded in turns with the first, through its own tapes
    if (other) assert.deepEqual(flat(other.infer(s2!, id, p, true)), outs.at(-1))
    id = 1 + ((id * 7 + p) % 500)
  }
  return outs
}

const variants: Variant[] = ['fp16', 'lut', 'chunk2', 'monolithic', 'argmax']
for (const v of variants)
  test(`taped decoding equals the interpreter bit for bit (${v})`, async () => {
    const meta = readMeta(await convertedDir(v))
    const plain = await loadRunner(meta, { tapes: false })
    const taped = await loadRunner(meta)
    const want = decode(plain, 3)
    const got = decode(taped, 3, taped)
    assert.equal(got.length, CONTEXT - BATCH)
    for (let p = 0; p < want.length; p++)
      assert.ok(
        want[p].every((x, i) => Object.is(x, got[p][i])),
        `step ${p + BATCH} differs`,
      )
  })

test('a tape batches every product and replays views and index ops around them', async () => {
  assert.ok(nativeKernels(), 'needs the native kernels')
  const dir = await convertedDir('lut')
  const file = readdirSync(dir).find((f) => f.includes('FFN') && f.endsWith('.mlpackage'))!
  const fn = loadFunction(readPackage(join(dir, file)), 'infer')
  const state = createState(fn)
  assert.equal(fn.describeTape(state), undefined, 'no tape before the first runTaped')
  const inputs = Object.fromEntries(
    fn.inputs.map((i) => {
      const shape = i.shape as number[]
      const n = shape.reduce((a, b) => a * b, 1)
      const v =
        i.name === 'causal_mask'
          ? Array.from({ length: n }, (_, j) => (j ? -Infinity : 0))
          : new Array(n).fill(i.dtype === 'int32' ? 0 : 0.5)
      return [i.name, makeTensor(i.dtype, shape, v)]
    }),
  )
  fn.runTaped(inputs, state)
  const t = fn.describeTape(state)!
  const convs = fn.describePlan().filter((s) => s.opType === 'conv').length
  assert.ok(convs > 0 && t.native >= convs, `every conv on the native tape (${JSON.stringify(t)})`)
  assert.ok(t.view > 0 && t.live > 0 && t.tapes >= 1 && t.tapes <= t.live + 1)
})

test('runTaped falls back to the interpreter for other input shapes and without native kernels', async () => {
  const dir = await convertedDir('fp16')
  const file = readdirSync(dir).find((f) => f.includes('embeddings') && f.endsWith('.mlpackage'))!
  const model = readPackage(join(dir, file))
  const a = loadFunction(model)
  const b = loadFunction(model)
  const ids = (n: number) =>
    makeTensor(
      'int32',
      [1, n],
      Array.from({ length: n }, (_, i) => i + 5),
    )
  assert.deepEqual(
    b.runTaped({ input_ids: ids(1) }).hidden_states.data,
    a.run({ input_ids: ids(1) }).hidden_states.data,
  )
  // recorded with one token; a batch of B is interpreted
  assert.deepEqual(
    b.runTaped({ input_ids: ids(BATCH) }).hidden_states.data,
    a.run({ input_ids: ids(BATCH) }).hidden_states.data,
  )
  const ts = withTypeScriptKernels(() => loadFunction(model).runTaped({ input_ids: ids(1) }))
  assert.deepEqual(ts.hidden_states.data, a.run({ input_ids: ids(1) }).hidden_states.data)
})
