// The executor's fast paths and per-step memos against plain definitions: Float32 broadcast rows
// and the general row walk on random shapes, layer_norm's strided walk and softmax's underflow
// skip (bit-exact), and steps rerun with other shapes or other run-time parameter values.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  buildFunction,
  buildProgram,
  constant,
  type FunctionBuilder,
} from '../../src/mil/builder.js'
import type { Var } from '../../src/mil/program.js'
import { tensor } from '../../src/mil/types.js'
import { loadFunction } from '../../src/runtime/executor.js'
import { makeTensor, numel, type Tensor } from '../../src/runtime/tensor.js'
import { f32, i32, iota, run, values } from './helpers.js'

function rng(seed: number) {
  let s = seed >>> 0
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s % n
  }
}

/** NumPy broadcasting by the definition: each output index mapped back into every operand. */
function naiveBroadcast(ts: Tensor[], f: (...v: number[]) => number): number[] {
  const r = Math.max(...ts.map((t) => t.shape.length))
  const shape = new Array<number>(r).fill(1)
  for (const t of ts)
    t.shape.forEach((d, i) => {
      const o = r - t.shape.length + i
      if (d !== 1) shape[o] = d
    })
  const out: number[] = []
  for (let q = 0; q < numel(shape); q++) {
    const idx: number[] = []
    for (let d = r - 1, rem = q; d >= 0; d--) {
      idx[d] = rem % shape[d]
      rem = Math.floor(rem / shape[d])
    }
    const args = ts.map((t) => {
      let off = 0
      t.shape.forEach((d, i) => (off = off * d + (d === 1 ? 0 : idx[r - t.shape.length + i])))
      return (t.data as ArrayLike<number>)[off]
    })
    out.push(f(...args))
  }
  return out
}

/** Two random shapes that broadcast together (ranks 0–4, dims 1–3 or 70). */
function shapePair(r: (n: number) => number): [number[], number[]] {
  const rank = r(5)
  const full = Array.from({ length: rank }, () => [1, 2, 3, 70][r(4)])
  if (full.filter((d) => d === 70).length > 1) full.fill(2, 0, full.indexOf(70))
  const pick = () => full.slice(r(rank + 1)).map((d) => (r(3) === 0 ? 1 : d))
  return [pick(), pick()]
}

const F32_OPS = {
  add: (a: number, b: number) => a + b,
  sub: (a: number, b: number) => a - b,
  mul: (a: number, b: number) => a * b,
  real_div: (a: number, b: number) => a / b,
  maximum: Math.max,
  minimum: Math.min,
  pow: (a: number, b: number) => a ** b,
}
const INT_OPS = { add: F32_OPS.add, mul: F32_OPS.mul, maximum: Math.max }
const CMP_OPS = {
  less: (a: number, b: number) => (a < b ? 1 : 0),
  equal: (a: number, b: number) => (a === b ? 1 : 0),
}

test('binary ops and select match NumPy broadcasting on random shapes (fp32 and int32)', () => {
  const r = rng(7)
  const val = (n: number, scale: number) => Array.from({ length: n }, () => (r(17) - 8) * scale)
  for (let i = 0; i < 60; i++) {
    const [sx, sy] = shapePair(r)
    const x = f32(sx, val(numel(sx), 0.25))
    const y = f32(sy, val(numel(sy), 0.5))
    const xi = i32(sx, val(numel(sx), 1))
    const yi = i32(sy, val(numel(sy), 1))
    const c = makeTensor(
      'bool',
      sx,
      val(numel(sx), 1).map((v) => (v > 0 ? 1 : 0)),
    )
    const out = run({ x, y, xi, yi, c }, (b, v) => {
      const o: Record<string, Var> = {}
      const ops = b as unknown as Record<string, (a: object) => Var>
      for (const op of Object.keys(F32_OPS)) o[op] = ops[op]({ x: v.x, y: v.y })
      for (const op of Object.keys(INT_OPS)) o[`i_${op}`] = ops[op]({ x: v.xi, y: v.yi })
      for (const op of Object.keys(CMP_OPS)) o[`c_${op}`] = ops[op]({ x: v.x, y: v.y })
      o.select = b.select({ cond: v.c, a: v.x, b: v.y })
      return o
    })
    const msg = `x ${sx} y ${sy}`
    for (const [op, f] of Object.entries(F32_OPS))
      assert.deepEqual(
        values(out[op]),
        naiveBroadcast([x, y], (a, b) => Math.fround(f(a, b))),
        `${op} ${msg}`,
      )
    for (const [op, f] of Object.entries(INT_OPS))
      assert.deepEqual(
        values(out[`i_${op}`]),
        naiveBroadcast([xi, yi], (a, b) => f(a, b) | 0),
        `int ${op} ${msg}`,
      )
    for (const [op, f] of Object.entries(CMP_OPS))
      assert.deepEqual(values(out[`c_${op}`]), naiveBroadcast([x, y], f), `${op} ${msg}`)
    assert.deepEqual(
      values(out.select),
      naiveBroadcast([c, x, y], (k, a, b) => (k ? a : b)),
      msg,
    )
  }
})

test('layer_norm: the strided walk and the offset-table walk give the definition bit for bit', () => {
  const data = iota(2 * 3 * 5).map((v) => Math.fround(Math.sin(v) * 3))
  const gamma = (n: number) => iota(n).map((v) => 0.5 + v / 8)
  const cases: [number[], number[]][] = [
    [[2], [5]],
    [[1], [3]],
    [
      [1, 2],
      [3, 5],
    ],
    [
      [0, 2],
      [2, 5],
    ], // not one strided run: the table walk
    [
      [2, 0],
      [5, 2],
    ],
  ]
  for (const [axes, normShape] of cases) {
    const n = numel(normShape)
    const out = run({ x: f32([2, 3, 5], data) }, (b, { x }) => ({
      y: b.layer_norm({
        x,
        axes,
        gamma: constant('fp32', normShape, gamma(n)),
        beta: constant('fp32', normShape, iota(n, 0.25)),
        epsilon: 1e-3,
      }),
    }))
    // the definition, in the kernel's order of operations
    const red = new Set(axes)
    const groups = new Map<string, number[]>()
    for (let q = 0; q < 30; q++) {
      const idx = [Math.floor(q / 15), Math.floor(q / 5) % 3, q % 5]
      const key = idx.filter((_, d) => !red.has(d)).join()
      groups.set(key, [...(groups.get(key) ?? []), q])
    }
    const want = new Array<number>(30)
    for (const qs of groups.values()) {
      let mean = 0
      for (const q of qs) mean += data[q]
      mean /= n
      let v = 0
      for (const q of qs) v += (data[q] - mean) ** 2
      const inv = 1 / Math.sqrt(v / n + Math.fround(1e-3))
      qs.forEach((q, i) => (want[q] = Math.fround((data[q] - mean) * inv * gamma(n)[i] + i * 0.25)))
    }
    assert.deepEqual(values(out.y), want, `axes ${axes}`)
  }
})

test('softmax with -Infinity, far-below-max and NaN scores equals the Math.exp definition', () => {
  const row = [0.5, -Infinity, -800, -745.5, -745.1, -700, 2, -Infinity]
  const rows = [
    row,
    row.map((v) => v - 3),
    row.map((v, i) => (i === 2 ? NaN : v)),
    row.map(() => -Infinity),
  ]
  const out = run({ x: f32([4, 8], rows.flat()) }, (b, { x }) => ({
    y: b.softmax({ x, axis: -1 }),
  }))
  const want = rows.flatMap((r) => {
    const v = r.map(Math.fround)
    let max = -Infinity
    for (const a of v) if (a > max) max = a
    const e = v.map((a) => Math.fround(Math.exp(a - max)))
    const sum = v.reduce((s, a) => s + Math.exp(a - max), 0)
    return e.map((a) => Math.fround(a * (1 / sum)))
  })
  assert.deepEqual(values(out.y), want)
  assert.ok(values(out.y).slice(16).every(Number.isNaN), 'NaN and all -inf rows are NaN')
  // the same along a strided axis
  const t = run(
    {
      x: f32(
        [8, 4],
        iota(32).map((i) => rows[i % 4][Math.floor(i / 4)]),
      ),
    },
    (b, { x }) => ({
      y: b.softmax({ x, axis: 0 }),
    }),
  )
  assert.deepEqual(
    values(t.y),
    iota(32).map((i) => want[(i % 4) * 8 + Math.floor(i / 4)]),
  )
})

/** x [1, seq, 8] through broadcasting, transpose, slicing, concat, norms and reshapes. */
function shapeChain(b: FunctionBuilder, x: Var): Record<string, Var> {
  const a = b.add({ x, y: iota(8, 0.5) })
  const t = b.transpose({ x: a, perm: [0, 2, 1] })
  const s = b.slice_by_index({
    x: t,
    begin: [0, 1, 0],
    end: [1, 7, 0],
    stride: [1, 2, 1],
    end_mask: [false, false, true],
  })
  const c = b.concat({ values: [s, t], axis: 1 })
  const n = b.layer_norm({ x: c, axes: [1] })
  const m = b.softmax({ x: n, axis: -1 })
  return {
    flat: b.reshape({ x: m, shape: [-1] }),
    sum: b.reduce_sum({ x: a, axes: [1], keep_dims: true }),
    prod: b.mul({ x: a, y: b.reduce_mean({ x, axes: [2], keep_dims: true }) }),
  }
}

test('a step rerun with other input shapes recomputes its plans (flexible shapes)', () => {
  const fn = () =>
    buildFunction(
      {
        name: 'main',
        inputs: {
          x: {
            type: tensor('fp32', [1, 'seq', 8]),
            flexibility: {
              kind: 'range',
              ranges: [
                [1, 1],
                [1, 8],
                [8, 8],
              ],
            },
            defaultShape: [1, 4, 8],
          },
        },
      },
      (b, { x }) => shapeChain(b, x),
    )
  const shared = loadFunction(buildProgram([fn()]))
  const input = (seq: number) =>
    f32(
      [1, seq, 8],
      iota(seq * 8).map((v) => Math.cos(v)),
    )
  for (const seq of [3, 5, 3, 1, 8, 8, 2]) {
    const got = shared.run({ x: input(seq) })
    const fresh = loadFunction(buildProgram([fn()])).run({ x: input(seq) })
    assert.deepEqual(got, fresh, `seq ${seq}`)
    assert.deepEqual(got.flat.shape, [(3 + 8) * seq])
  }
})

test('slice bounds computed at run time: the same shapes, new values each run', () => {
  const fn = buildFunction(
    { name: 'main', inputs: { x: tensor('fp32', [2, 8]), pos: tensor('int32', [1]) } },
    (b, { x, pos }) => {
      const begin = b.concat({ values: [[0], pos], axis: 0 })
      const end = b.concat({ values: [[2], b.add({ x: pos, y: [3] })], axis: 0 })
      return { y: b.slice_by_index({ x, begin, end }) }
    },
  )
  const exe = loadFunction(buildProgram([fn]))
  const x = f32([2, 8], iota(16))
  for (const p of [0, 4, 2, 5, 5, 1]) {
    const y = exe.run({ x, pos: i32([1], [p]) }).y
    assert.deepEqual(y.shape, [2, 3])
    assert.deepEqual(values(y), [p, p + 1, p + 2, 8 + p, 9 + p, 10 + p], `pos ${p}`)
  }
})

test('outputs that are views of pooled buffers get their own shape array', () => {
  const fn = buildFunction({ name: 'main', inputs: { x: tensor('fp32', [2, 3]) } }, (b, { x }) => ({
    y: b.reshape({ x: b.mul({ x, y: 2 }), shape: [3, 2] }),
  }))
  const exe = loadFunction(buildProgram([fn]))
  const x = f32([2, 3], iota(6))
  const first = exe.run({ x }).y
  ;(first.shape as number[]).push(99)
  const second = exe.run({ x }).y
  assert.deepEqual(second.shape, [3, 2])
  assert.deepEqual(values(second), [0, 2, 4, 6, 8, 10])
})
