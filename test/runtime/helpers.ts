// Builds one-function programs with the MIL builder and runs them through the executor.
import assert from 'node:assert/strict'
import { buildFunction, buildProgram, type FunctionBuilder } from '../../src/mil/builder.js'
import type { Var } from '../../src/mil/program.js'
import { state, tensor, type DType } from '../../src/mil/types.js'
import { createState, loadFunction, type LoadOptions } from '../../src/runtime/executor.js'
import type { State } from '../../src/runtime/state.js'
import { makeTensor, type RuntimeDType, type Tensor } from '../../src/runtime/tensor.js'

export const t = (dtype: RuntimeDType, shape: number[], data: readonly number[]): Tensor =>
  makeTensor(dtype, shape, data)

export const f32 = (shape: number[], data: readonly number[]) => t('fp32', shape, data)
export const i32 = (shape: number[], data: readonly number[]) => t('int32', shape, data)
export const iota = (n: number, scale = 1) => Array.from({ length: n }, (_, i) => i * scale)

export type Body = (b: FunctionBuilder, v: Record<string, Var>) => Record<string, Var>

/** Builds `main` from `body`, runs it twice (the second run reuses pooled buffers) and returns the outputs. */
export function run(
  inputs: Record<string, Tensor>,
  body: Body,
  opts: LoadOptions & {
    states?: Record<string, { dtype: DType; shape: number[] }>
    state?: State
  } = {},
): Record<string, Tensor> {
  const types = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, tensor(v.dtype as DType, v.shape)]),
  )
  for (const [k, s] of Object.entries(opts.states ?? {}))
    (types as Record<string, unknown>)[k] = state(tensor(s.dtype, s.shape))
  const fn = buildFunction({ name: 'main', inputs: types }, body)
  const exe = loadFunction(buildProgram([fn]), 'main', { poisonBuffers: true, ...opts })
  const st = opts.state ?? (exe.states.length ? createState(exe) : undefined)
  const first = exe.run(inputs, st)
  if (exe.states.length) return first
  const second = exe.run(inputs, st)
  assert.deepEqual(second, first, 'a second run gives the same outputs')
  return first
}

/** Asserts |a - b| <= tol elementwise (NaN equals NaN). */
export function close(actual: Tensor, expected: readonly number[], tol = 1e-6, msg = '') {
  const a = Array.from(actual.data as ArrayLike<number>)
  assert.equal(a.length, expected.length, `${msg} length`)
  for (let i = 0; i < a.length; i++) {
    const e = expected[i]
    if (Number.isNaN(e) && Number.isNaN(a[i])) continue
    if (!(Math.abs(a[i] - e) <= tol * Math.max(1, Math.abs(e))))
      assert.fail(`${msg} element ${i}: got ${a[i]}, expected ${e} (all: ${a.join(', ')})`)
  }
}

export const values = (x: Tensor) => Array.from(x.data as ArrayLike<number>)
