// Hand-computed checks of the arithmetic kernels: broadcasting, conv geometry, matmul forms,
// normalization and reductions.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { constant } from '../../src/mil/builder.js'
import { close, f32, i32, iota, run, t, values } from './helpers.js'

const w = (shape: number[], data: number[]) => constant('fp32', shape, data)

test('binary ops broadcast and keep NumPy semantics (floor_div, mod sign)', () => {
  const out = run({ x: f32([2, 1], [7, -7]), y: f32([1, 3], [2, -2, 3]) }, (b, { x, y }) => ({
    add: b.add({ x, y }),
    fdiv: b.floor_div({ x, y }),
    mod: b.mod({ x, y }),
    pow: b.pow({ x: y, y: 2 }),
    less: b.less({ x, y: 0 }),
  }))
  assert.deepEqual(out.add.shape, [2, 3])
  assert.deepEqual(values(out.add), [9, 5, 10, -5, -9, -4])
  assert.deepEqual(values(out.fdiv), [3, -4, 2, -4, 3, -3])
  assert.deepEqual(values(out.mod), [1, -1, 1, 1, -1, 2])
  assert.deepEqual(values(out.pow), [4, 4, 9])
  assert.deepEqual(values(out.less), [0, 1])
  assert.equal(out.less.dtype, 'bool')
})

test('int32 arithmetic stays integral', () => {
  const out = run({ x: i32([3], [7, -7, 5]) }, (b, { x }) => ({
    d: b.real_div({ x, y: 2 }),
    m: b.mul({ x, y: 3 }),
  }))
  assert.equal(out.d.dtype, 'int32')
  assert.deepEqual(values(out.d), [3, -3, 2])
  assert.deepEqual(values(out.m), [21, -21, 15])
})

test('select broadcasts cond, a and b', () => {
  const out = run(
    { c: t('bool', [2, 1], [1, 0]), a: f32([1, 3], [1, 2, 3]), b: f32([2, 3], iota(6, 10)) },
    (bb, { c, a, b }) => ({ y: bb.select({ cond: c, a, b }) }),
  )
  assert.deepEqual(values(out.y), [1, 2, 3, 30, 40, 50])
})

test('activations against closed forms', () => {
  const xs = [-3, -0.5, 0, 0.5, 3]
  const out = run({ x: f32([5], xs) }, (b, { x }) => ({
    gelu: b.gelu({ x }),
    gt: b.gelu({ x, mode: 'TANH_APPROXIMATION' }),
    gs: b.gelu({ x, mode: 'SIGMOID_APPROXIMATION' }),
    silu: b.silu({ x }),
    erf: b.erf({ x }),
    rsqrt: b.rsqrt({ x: b.abs({ x }), epsilon: 1 }),
    clip: b.clip({ x, alpha: -1, beta: 1 }),
    round: b.round({ x }),
  }))
  // erf(0.5/√2) = 0.38292492254802624, erf(3/√2) = 0.9973002039367398
  const phi = [
    1 - 0.9973002039367398,
    1 - 0.38292492254802624,
    1,
    1 + 0.38292492254802624,
    1 + 0.9973002039367398,
  ]
  close(
    out.gelu,
    xs.map((x, i) => 0.5 * x * phi[i]),
    1e-6,
  )
  close(
    out.gt,
    xs.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))),
  )
  close(
    out.gs,
    xs.map((x) => x / (1 + Math.exp(-1.702 * x))),
  )
  close(
    out.silu,
    xs.map((x) => x / (1 + Math.exp(-x))),
  )
  close(
    out.erf,
    [-0.9999779095030014, -0.5204998778130465, 0, 0.5204998778130465, 0.9999779095030014],
    1e-7,
  )
  close(
    out.rsqrt,
    xs.map((x) => 1 / Math.sqrt(Math.abs(x) + 1)),
  )
  assert.deepEqual(values(out.clip), [-1, -0.5, 0, 0.5, 1])
  // round half to even
  assert.deepEqual(values(out.round), [-3, -0, 0, 0, 3])
})

test('softmax along either axis', () => {
  const out = run({ x: f32([2, 2], [0, Math.log(3), 0, 0]) }, (b, { x }) => ({
    a0: b.softmax({ x, axis: 0 }),
    a1: b.softmax({ x, axis: -1 }),
  }))
  close(out.a0, [0.5, 0.75, 0.5, 0.25])
  close(out.a1, [0.25, 0.75, 0.5, 0.5])
})

test('reductions: axes, keep_dims, all axes, argmax ties', () => {
  const out = run({ x: f32([2, 3], iota(6)), y: f32([3], [3, 5, 5]) }, (b, { x, y }) => ({
    sum: b.reduce_sum({ x, axes: [1], keep_dims: true }),
    mean: b.reduce_mean({ x, axes: [0] }),
    max: b.reduce_max({ x }),
    min: b.reduce_min({ x, axes: [-1] }),
    am: b.reduce_argmax({ x, axis: 0, keep_dims: true }),
    tie: b.reduce_argmax({ x: y }),
  }))
  assert.deepEqual(out.sum.shape, [2, 1])
  assert.deepEqual(values(out.sum), [3, 12])
  assert.deepEqual(values(out.mean), [1.5, 2.5, 3.5])
  assert.deepEqual(out.max.shape, [])
  assert.deepEqual(values(out.max), [5])
  assert.deepEqual(values(out.min), [0, 3])
  assert.deepEqual(out.am.shape, [1, 3])
  assert.deepEqual(values(out.am), [1, 1, 1])
  assert.deepEqual(values(out.tie), [1])
})

test('layer_norm over the last axis, the first axis, and all axes', () => {
  const xs = [1, 2, 3, 4, 6, 8]
  const out = run({ x: f32([2, 3], xs) }, (b, { x }) => ({
    last: b.layer_norm({
      x,
      axes: [-1],
      gamma: w([3], [1, 2, 3]),
      beta: w([3], [0, 0, 1]),
      epsilon: 1e-5,
    }),
    first: b.layer_norm({ x, axes: [0] }),
    all: b.layer_norm({ x, axes: [1, 0], epsilon: 0 }),
  }))
  const s0 = Math.sqrt(2 / 3 + 1e-5)
  const s1 = Math.sqrt(8 / 3 + 1e-5)
  close(out.last, [-1 / s0, 0, (3 * 1) / s0 + 1, (-2 * 1) / s1, 0, (3 * 2) / s1 + 1], 1e-6)
  const c = (d: number) => d / Math.sqrt(d * d + 1e-5)
  close(out.first, [-c(1.5), -c(2), -c(2.5), c(1.5), c(2), c(2.5)], 1e-6)
  const mean = 4
  const sd = Math.sqrt(xs.reduce((a, v) => a + (v - mean) ** 2, 0) / 6)
  close(
    out.all,
    xs.map((v) => (v - mean) / sd),
    1e-6,
  )
})

test('conv: groups, dilation, custom pad + stride, same / same_lower, 1×1 with bias', () => {
  const x2 = f32([1, 2, 3, 3], [...iota(9), ...new Array(9).fill(1)])
  const out = run(
    { x: x2, s: f32([1, 1, 4], [1, 2, 3, 4]), p: f32([1, 2, 1, 2], [1, 2, 3, 4]) },
    (b, { x, s, p }) => {
      const c0 = b.slice_by_index({ x, begin: [0, 0, 0, 0], end: [1, 1, 3, 3] })
      return {
        groups: b.conv({ x, weight: w([2, 1, 2, 2], [1, 0, 0, 1, 1, 1, 1, 1]), groups: 2 }),
        dil: b.conv({ x: c0, weight: w([1, 1, 2, 2], [1, 1, 1, 1]), dilations: [2, 2] }),
        padded: b.conv({
          x: c0,
          weight: w([1, 1, 3, 3], new Array(9).fill(1)),
          pad_type: 'custom',
          pad: [1, 1, 1, 1],
          strides: [2, 2],
        }),
        same: b.conv({ x: s, weight: w([1, 1, 3], [1, 1, 1]), pad_type: 'same', strides: [2] }),
        lower: b.conv({
          x: s,
          weight: w([1, 1, 3], [1, 1, 1]),
          pad_type: 'same_lower',
          strides: [2],
        }),
        pw: b.conv({
          x: p,
          weight: w([3, 2, 1, 1], [1, 0, 0, 1, 1, 1]),
          bias: w([3], [0.5, 0, -1]),
        }),
      }
    },
  )
  assert.deepEqual(out.groups.shape, [1, 2, 2, 2])
  assert.deepEqual(values(out.groups), [4, 6, 10, 12, 4, 4, 4, 4])
  assert.deepEqual(values(out.dil), [16])
  assert.deepEqual(values(out.padded), [8, 12, 20, 24])
  assert.deepEqual(values(out.same), [6, 7])
  assert.deepEqual(values(out.lower), [3, 9])
  assert.deepEqual(out.pw.shape, [1, 3, 1, 2])
  assert.deepEqual(values(out.pw), [1.5, 2.5, 3, 4, 3, 5])
})

test('matmul: batch broadcasting, transposes, rank-1 operands; linear with bias', () => {
  const X = [1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0]
  const Y = [1, 2, 3, 4, 5, 6]
  const out = run(
    {
      x: f32([2, 2, 3], X),
      xt: f32([3, 2], [1, 4, 2, 5, 3, 6]),
      y: f32([3, 2], Y),
      yt: f32([2, 3], [1, 3, 5, 2, 4, 6]),
      v: f32([3], [1, 2, 3]),
    },
    (b, { x, xt, y, yt, v }) => ({
      bcast: b.matmul({ x, y }),
      tx: b.matmul({ x: xt, y, transpose_x: true }),
      ty: b.matmul({ x, y: yt, transpose_y: true }),
      vec: b.matmul({ x: v, y }),
      mv: b.matmul({ x, y: v }),
      lin: b.linear({ x, weight: w([2, 3], [1, 3, 5, 2, 4, 6]), bias: w([2], [0.5, -0.5]) }),
    }),
  )
  assert.deepEqual(out.bcast.shape, [2, 2, 2])
  assert.deepEqual(values(out.bcast), [22, 28, 49, 64, 1, 2, 3, 4])
  assert.deepEqual(values(out.tx), [22, 28, 49, 64])
  assert.deepEqual(values(out.ty), [22, 28, 49, 64, 1, 2, 3, 4])
  assert.deepEqual(out.vec.shape, [2])
  assert.deepEqual(values(out.vec), [22, 28])
  assert.deepEqual(out.mv.shape, [2, 2])
  assert.deepEqual(values(out.mv), [14, 32, 1, 2])
  assert.deepEqual(values(out.lin), [22.5, 27.5, 49.5, 63.5, 1.5, 1.5, 3.5, 3.5])
})

test('scaled_dot_product_attention with a float and a bool mask', () => {
  const q = f32([1, 1, 2, 2], [1, 0, 0, 1])
  const k = f32([1, 1, 2, 2], [Math.log(3) * Math.SQRT2, 0, 0, 0])
  const v = f32([1, 1, 2, 1], [10, 20])
  const out = run(
    { q, k, v, m: f32([2, 2], [0, 0, 0, -Infinity]), bm: t('bool', [1, 2], [1, 0]) },
    (b, { q, k, v, m, bm }) => ({
      a: b.scaled_dot_product_attention({ query: q, key: k, value: v }),
      masked: b.scaled_dot_product_attention({ query: q, key: k, value: v, attn_mask: m }),
      bmask: b.scaled_dot_product_attention({ query: q, key: k, value: v, attn_mask: bm }),
    }),
  )
  // row 0: scores [log 3, 0] → softmax [3/4, 1/4] → 12.5; row 1: scores [0, 0] → 15
  close(out.a, [12.5, 15], 1e-6)
  close(out.masked, [12.5, 10], 1e-6)
  close(out.bmask, [10, 10], 1e-6)
})

test('conv over three spatial dims (same padding)', () => {
  const out = run({ x: f32([1, 1, 2, 2, 2], new Array(8).fill(1)) }, (b, { x }) => ({
    valid: b.conv({ x, weight: w([1, 1, 2, 2, 2], new Array(8).fill(1)) }),
    same: b.conv({ x, weight: w([1, 1, 2, 2, 2], new Array(8).fill(1)), pad_type: 'same' }),
  }))
  assert.deepEqual(values(out.valid), [8])
  // same: pad after by one per dim; corner (0,0,0) sees all 8 ones, the far corner only itself
  assert.deepEqual(out.same.shape, [1, 1, 2, 2, 2])
  assert.deepEqual(values(out.same), [8, 4, 4, 2, 4, 2, 2, 1])
})
