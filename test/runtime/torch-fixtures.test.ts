// Fidelity against coremltools' own conversions: small PyTorch modules converted to iOS18 ML
// Programs (fp32 and fp16 compute precision) must reproduce torch's outputs, and MIL-builder
// programs (ops torch never emits) the outputs of coremltools' own op evaluation (NumPy).
// Fixtures and goldens: test/fixtures/torch/make_fixtures.py.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { walkOps } from '../../src/mil/program.js'
import { readPackage } from '../../src/package/read.js'
import { createState, loadFunction } from '../../src/runtime/executor.js'
import { KERNEL_TABLE } from '../../src/runtime/kernels/index.js'
import { makeTensor, type RuntimeDType, type Tensor } from '../../src/runtime/tensor.js'

const DIR = join(import.meta.dirname, '../fixtures/torch')

interface JsonTensor {
  dtype: RuntimeDType
  shape: number[]
  data: (number | string)[]
}
interface Golden {
  source: 'torch' | 'coremltools'
  /** MIL programs only (torch modules come in both precisions). */
  precision?: 'fp32' | 'fp16'
  /** A package outside packages/ (the committed coremltools fixtures), relative to DIR. */
  package?: string
  states: string[]
  calls: {
    function?: string
    inputs: Record<string, JsonTensor>
    outputs: Record<string, JsonTensor>
  }[]
}

const num = (v: number | string) => (typeof v === 'number' ? v : Number(v))
const toTensor = (j: JsonTensor): Tensor => makeTensor(j.dtype, j.shape, j.data.map(num))

/** Tolerance per variant: |got − want| ≤ atol + rtol·|want|, with atol scaled by the output's range. */
const TOL = { fp32: { rtol: 1e-5, atol: 1e-5 }, fp16: { rtol: 2e-2, atol: 1e-2 } }

function compare(name: string, got: Tensor, want: JsonTensor, variant: 'fp32' | 'fp16') {
  assert.deepEqual(got.shape, want.shape, `${name}: shape`)
  const w = want.data.map(num)
  const g = Array.from(got.data as ArrayLike<number>)
  const exact = want.dtype !== 'fp32' && want.dtype !== 'fp16'
  const scale = Math.max(1, ...w.filter(Number.isFinite).map(Math.abs))
  // an fp16 output of an fp32 program is still rounded to fp16 at the end
  const { rtol, atol } = TOL[want.dtype === 'fp16' ? 'fp16' : variant]
  let worst = 0
  for (let i = 0; i < w.length; i++) {
    if (exact || !Number.isFinite(w[i])) {
      assert.equal(g[i], w[i], `${name}[${i}]`)
      continue
    }
    const err = Math.abs(g[i] - w[i])
    worst = Math.max(worst, err / (atol * scale + rtol * Math.abs(w[i])))
    if (!(err <= atol * scale + rtol * Math.abs(w[i])))
      assert.fail(`${name}[${i}]: got ${g[i]}, want ${w[i]} (${variant}, error ${err})`)
  }
  return worst
}

const goldens = readdirSync(join(DIR, 'goldens'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5))
  .sort()

const variantsOf = (name: string) =>
  (['fp32', 'fp16'] as const)
    .map((v) => [v, join(DIR, 'packages', `${name}.${v}.mlpackage`)] as const)
    .filter(([, p]) => existsSync(p))

for (const name of goldens) {
  const golden = JSON.parse(readFileSync(join(DIR, 'goldens', `${name}.json`), 'utf8')) as Golden
  const plain = join(DIR, golden.package ?? join('packages', `${name}.mlpackage`))
  const variants: (readonly ['fp32' | 'fp16', string])[] = existsSync(plain)
    ? [[golden.precision ?? 'fp32', plain]]
    : variantsOf(name)
  // fp16 programs also run in strict-fp16 mode: no false overflow report, same outputs
  const runs: ['fp32' | 'fp16', string, boolean][] = variants.flatMap(
    ([v, p]): ['fp32' | 'fp16', string, boolean][] =>
      v === 'fp16'
        ? [
            [v, p, false],
            [v, p, true],
          ]
        : [[v, p, false]],
  )
  for (const [variant, path, strictFp16] of runs) {
    const mode = strictFp16 ? ', strict fp16' : ''
    test(`${name} (${variant}${mode}, ${golden.source} golden)`, () => {
      const model = readPackage(path)
      const fns = new Map(
        [...new Set(golden.calls.map((c) => c.function))].map((f) => [
          f,
          loadFunction(model, f, { strictFp16 }),
        ]),
      )
      const state = createState(...fns.values())
      assert.deepEqual(state.names(), golden.states)
      golden.calls.forEach((call, c) => {
        const inputs = Object.fromEntries(
          Object.entries(call.inputs).map(([k, v]) => [k, toTensor(v)]),
        )
        const out = fns.get(call.function)!.run(inputs, state)
        assert.deepEqual(Object.keys(out).sort(), Object.keys(call.outputs).sort())
        for (const [k, want] of Object.entries(call.outputs))
          compare(`call ${c} ${k}`, out[k], want, variant)
      })
    })
  }
}

test('the fixtures contain every op-table op the executor has a kernel for', () => {
  const seen = new Set<string>()
  for (const p of readdirSync(join(DIR, 'packages'))) {
    if (!p.endsWith('.mlpackage')) continue
    for (const f of readPackage(join(DIR, 'packages', p)).program.functions)
      for (const op of walkOps(f.block)) seen.add(op.type)
  }
  // opaque rows run ops outside the op table, fused rows ops the planner makes
  const missing = Object.entries(KERNEL_TABLE)
    .filter(([k, row]) => !row.opaque && !row.fused && !seen.has(k))
    .map(([k]) => k)
  assert.deepEqual(missing, [], `ops without a fixture: ${missing.join(', ')}`)
})
