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

/**
 * Two "layers" shaped like src/arch's attention cache write: read the cache, write row l (K) and
 * row 2 + l (V) with two slice_updates, coreml_update_state, then read the layer's rows back.
 * Layer 1's K depends on layer 0's result, so the layers run in order.
 */
export function twoLayers() {
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
