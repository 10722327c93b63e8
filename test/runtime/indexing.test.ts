// Hand-computed checks of the shape and indexing kernels' trickier semantics.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { f32, i32, iota, run, t, values } from './helpers.js'

const X24 = () => f32([2, 3, 4], iota(24)) // x[a, b, c] = 12a + 4b + c

test('slice_by_index: negative begin/end/stride, masks, squeeze', () => {
  const out = run({ x: X24() }, (b, { x }) => ({
    neg: b.slice_by_index({ x, begin: [0, 1, -1], end: [2, 3, 0], stride: [1, 1, -1] }),
    masked: b.slice_by_index({
      x,
      begin: [1, 0, 0],
      end: [0, 0, 0],
      stride: [1, 2, -2],
      begin_mask: [false, true, true],
      end_mask: [true, true, true],
      squeeze_mask: [true, false, false],
    }),
    rev: b.slice_by_index({
      x,
      begin: [0, 0, 2],
      end: [1, 1, 0],
      end_mask: [false, false, true],
      stride: [1, 1, -1],
    }),
    negEnd: b.slice_by_index({ x, begin: [1, 2, -1], end: [2, 3, -3], stride: [1, 1, -1] }),
    clamped: b.slice_by_index({ x, begin: [-5, 1, 2], end: [9, 2, 100] }),
    scalar: b.slice_by_index({
      x,
      begin: [1, 2, 3],
      end: [0, 0, 0],
      squeeze_mask: [true, true, true],
    }),
  }))
  assert.deepEqual(out.neg.shape, [2, 2, 3])
  assert.deepEqual(values(out.neg), [7, 6, 5, 11, 10, 9, 19, 18, 17, 23, 22, 21])
  assert.deepEqual(out.masked.shape, [2, 2])
  assert.deepEqual(values(out.masked), [15, 13, 23, 21])
  assert.deepEqual(values(out.rev), [2, 1, 0])
  assert.deepEqual(values(out.negEnd), [23, 22])
  assert.deepEqual(out.clamped.shape, [2, 1, 2])
  assert.deepEqual(values(out.clamped), [6, 7, 18, 19])
  assert.deepEqual(out.scalar.shape, [])
  assert.deepEqual(values(out.scalar), [23])
})

test('slice_by_index and slice_by_size with run-time begin/end', () => {
  const out = run({ x: X24(), pos: i32([1], [2]) }, (b, { x, pos }) => {
    const p1 = b.add({ x: pos, y: [1] })
    const begin = b.concat({ values: [[1, 0], pos], axis: 0 })
    const end = b.concat({ values: [[2, 3], p1], axis: 0 })
    return {
      col: b.slice_by_index({ x, begin, end }),
      sized: b.slice_by_size({ x, begin, size: [1, -1, 2] }),
    }
  })
  assert.deepEqual(values(out.col), [14, 18, 22])
  assert.deepEqual(out.sized.shape, [1, 3, 2])
  assert.deepEqual(values(out.sized), [14, 15, 18, 19, 22, 23])
})

test('slice_update: a copy with the selected slice replaced, negative stride included', () => {
  const out = run(
    { x: f32([2, 4], new Array(8).fill(0)), u: f32([1, 2], [1, 2]), v: f32([2], [7, 8]) },
    (b, { x, u, v }) => {
      const a = b.slice_update({ x, update: u, begin: [1, 1], end: [2, 3] })
      return {
        a,
        // row 0, columns 3 and 1 (stride -2), squeezing the row axis
        c: b.slice_update({
          x: a,
          update: v,
          begin: [0, 3],
          end: [1, 0],
          stride: [1, -2],
          squeeze_mask: [true, false],
        }),
      }
    },
  )
  assert.deepEqual(values(out.a), [0, 0, 0, 0, 0, 1, 2, 0])
  assert.deepEqual(values(out.c), [0, 8, 0, 7, 0, 1, 2, 0])
})

test('gather: axis, negative indices, batch_dims', () => {
  const out = run(
    {
      x: f32([2, 3, 2], iota(12)),
      idx: i32([2, 2], [2, 0, 1, 1]),
      rows: i32([2, 1], [1, -1]),
    },
    (b, { x, idx, rows }) => ({
      batched: b.gather({ x, indices: idx, axis: 1, batch_dims: 1 }),
      // x[1] = [[6,7],[8,9],[10,11]]; take rows along axis 1
      plain: b.gather({ x, indices: rows, axis: 1 }),
    }),
  )
  assert.deepEqual(out.batched.shape, [2, 2, 2])
  assert.deepEqual(values(out.batched), [4, 5, 0, 1, 8, 9, 8, 9])
  assert.deepEqual(out.plain.shape, [2, 2, 1, 2])
  assert.deepEqual(values(out.plain), [2, 3, 4, 5, 8, 9, 10, 11])
})

test('gather rejects an index out of range, naming the op', () => {
  assert.throws(
    () =>
      run({ x: f32([3], [1, 2, 3]), i: i32([1], [3]) }, (b, { x, i }) => ({
        y: b.gather({ x, indices: i }),
      })),
    /gather 'y': index 3 is out of range/,
  )
})

test('gather_along_axis is NumPy take_along_axis', () => {
  const out = run(
    {
      x: f32([2, 3], [1, 2, 3, 4, 5, 6]),
      i1: i32([2, 2], [2, 0, 1, 1]),
      i0: i32([1, 3], [1, 0, 1]),
    },
    (b, { x, i1, i0 }) => ({
      a1: b.gather_along_axis({ x, indices: i1, axis: 1 }),
      a0: b.gather_along_axis({ x, indices: i0, axis: 0 }),
    }),
  )
  assert.deepEqual(values(out.a1), [3, 1, 5, 5])
  assert.deepEqual(values(out.a0), [4, 2, 6])
})

test('concat: plain and interleaved', () => {
  const out = run(
    { a: f32([2, 2], [1, 2, 3, 4]), b: f32([2, 2], [5, 6, 7, 8]) },
    (bb, { a, b }) => ({
      c1: bb.concat({ values: [a, b], axis: 1 }),
      i1: bb.concat({ values: [a, b], axis: 1, interleave: true }),
      i0: bb.concat({ values: [a, b], axis: -2, interleave: true }),
    }),
  )
  assert.deepEqual(values(out.c1), [1, 2, 5, 6, 3, 4, 7, 8])
  assert.deepEqual(values(out.i1), [1, 5, 2, 6, 3, 7, 4, 8])
  assert.deepEqual(values(out.i0), [1, 2, 5, 6, 3, 4, 7, 8])
})

test('split by sizes and by count', () => {
  const out = run({ x: f32([2, 5], iota(10)) }, (b, { x }) => {
    const [p, q] = b.split({ x, split_sizes: [2, 3], axis: 1 })
    const [r, s] = b.split({ x, num_splits: 2, axis: 0 })
    return { p, q, r, s }
  })
  assert.deepEqual(values(out.p), [0, 1, 5, 6])
  assert.deepEqual(values(out.q), [2, 3, 4, 7, 8, 9])
  assert.deepEqual(values(out.r), [0, 1, 2, 3, 4])
  assert.deepEqual(out.s.shape, [1, 5])
})

test('topk: descending and ascending, ties keep the lower index, other axes', () => {
  const out = run(
    { x: f32([1, 6], [3, 1, 3, 2, 5, 1]), m: f32([3, 2], [1, 9, 7, 2, 7, 5]) },
    (b, { x, m }) => {
      const [v, i] = b.topk({ x, k: 3 })
      const [va, ia] = b.topk({ x, k: 3, ascending: true })
      const [vm, im] = b.topk({ x: m, k: 2, axis: 0 })
      return { v, i, va, ia, vm, im }
    },
  )
  assert.deepEqual(values(out.v), [5, 3, 3])
  assert.deepEqual(values(out.i), [4, 0, 2])
  assert.equal(out.i.dtype, 'int32')
  assert.deepEqual(values(out.va), [1, 1, 2])
  assert.deepEqual(values(out.ia), [1, 5, 3])
  assert.deepEqual(values(out.vm), [7, 9, 7, 5])
  assert.deepEqual(values(out.im), [1, 0, 2, 2])
})

test('band_part keeps the band of the last two dims', () => {
  const out = run({ x: f32([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]) }, (b, { x }) => ({
    upper: b.band_part({ x, lower: 0, upper: -1 }),
    lower: b.band_part({ x, lower: -1, upper: 0 }),
    band: b.band_part({ x, lower: 1, upper: 0 }),
  }))
  assert.deepEqual(values(out.upper), [1, 2, 3, 0, 5, 6, 0, 0, 9])
  assert.deepEqual(values(out.lower), [1, 0, 0, 4, 5, 0, 7, 8, 9])
  assert.deepEqual(values(out.band), [1, 0, 0, 4, 5, 0, 0, 8, 9])
})

test('reshape: 0 copies a dim counted from the right (iOS17), -1 is inferred', () => {
  const out = run({ x: X24() }, (b, { x }) => ({
    a: b.reshape({ x, shape: [0, -1] }),
    c: b.reshape({ x, shape: [-1, 0] }),
    d: b.reshape({ x, shape: [2, 0, 0] }),
    e: b.expand_dims({ x, axes: [0, -1] }),
    f: b.squeeze({ x: b.reshape({ x, shape: [1, 24, 1] }), axes: [0] }),
    g: b.transpose({ x, perm: [2, 0, 1] }),
  }))
  assert.deepEqual(out.a.shape, [3, 8])
  assert.deepEqual(out.c.shape, [6, 4])
  assert.deepEqual(out.d.shape, [2, 3, 4])
  assert.deepEqual(out.e.shape, [1, 2, 3, 4, 1])
  assert.deepEqual(out.f.shape, [24, 1])
  assert.deepEqual(values(out.a), iota(24))
  assert.deepEqual(out.g.shape, [4, 2, 3])
  assert.deepEqual(values(out.g).slice(0, 8), [0, 4, 8, 12, 16, 20, 1, 5])
})

test('tile, fill and a run-time reshape', () => {
  const out = run({ x: f32([1, 2], [1, 2]), s: i32([2], [2, 1]) }, (b, { x, s }) => ({
    tiled: b.tile({ x, reps: [2, 2] }),
    filled: b.fill({ shape: s, value: b.const(1.5, 'v', 'fp32') }),
    shaped: b.reshape({ x, shape: s }),
  }))
  assert.deepEqual(values(out.tiled), [1, 2, 1, 2, 1, 2, 1, 2])
  assert.deepEqual(out.filled.shape, [2, 1])
  assert.deepEqual(values(out.filled), [1.5, 1.5])
  assert.deepEqual(out.shaped.shape, [2, 1])
})

test('cast: truncation toward zero, int8 wrap, bool, fp16 round-to-even and overflow', () => {
  const x = f32([6], [2.7, -2.7, 0, 300.5, 1 + 2 ** -11, 70000])
  const out = run({ x }, (b, { x }) => ({
    i: b.cast({ x, dtype: 'int32' }),
    i8: b.cast({ x, dtype: 'int8' }),
    bo: b.cast({ x, dtype: 'bool' }),
    h: b.cast({ x, dtype: 'fp16' }),
    h2: b.cast({ x: b.add({ x, y: 2 ** -10 }), dtype: 'fp16' }),
  }))
  assert.deepEqual(values(out.i), [2, -2, 0, 300, 1, 70000])
  assert.deepEqual(values(out.i8), [2, -2, 0, 44, 1, 112])
  assert.deepEqual(values(out.bo), [1, 1, 0, 1, 1, 1])
  assert.equal(out.h.dtype, 'fp16')
  assert.deepEqual(values(out.h), [2.69921875, -2.69921875, 0, 300.5, 1, Infinity])
  // 1 + 3·2^-11 lies halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even): rounds to even
  assert.equal(values(out.h2)[4], 1 + 2 ** -9)
  assert.deepEqual(values(t('int32', [1], [5])), [5])
})

test('transpose: every permutation of a rank-4 tensor, batched 2-D transposes included', () => {
  const shape = [2, 3, 40, 30] // planes of 1200 elements: the native transpose where built
  const n = shape.reduce((a, b) => a * b)
  const data = Array.from({ length: n }, (_, i) => i)
  const perms: number[][] = []
  const permute = (rest: number[], acc: number[]) =>
    rest.length
      ? rest.forEach((d, i) => permute([...rest.slice(0, i), ...rest.slice(i + 1)], [...acc, d]))
      : perms.push(acc)
  permute([0, 1, 2, 3], [])
  const strides = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1]
  for (const perm of perms) {
    const out = run({ x: f32(shape, data) }, (b, { x }) => ({ t: b.transpose({ x, perm }) })).t
    const oshape = perm.map((p) => shape[p])
    assert.deepEqual(out.shape, oshape)
    const got = values(out)
    const idx = [0, 0, 0, 0]
    for (let o = 0; o < n; o++) {
      let r = o
      for (let d = 3; d >= 0; d--) {
        idx[d] = r % oshape[d]
        r = Math.floor(r / oshape[d])
      }
      const want = perm.reduce((s, p, d) => s + idx[d] * strides[p], 0)
      if (got[o] !== want) assert.fail(`perm ${perm}: out[${o}] = ${got[o]}, want ${want}`)
    }
  }
})
