import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildFunction, buildProgram } from '../mil/builder.js'
import type { Var } from '../mil/program.js'
import { tensor, type DType } from '../mil/types.js'
import { floatsToHalfs } from '../util/fp16.js'
import { loadFunction } from './executor.js'
import { FUSED_ATTENTION, liveColumns } from './fuse-attention.js'
import { FUSED_RMS_NORM, FUSED_ROTATE_HALF } from './fuse.js'
import { withTypeScriptKernels } from './native.js'
import { makeTensor, type Tensor } from './tensor.js'

// The chains as the converter spells them (arch/blocks.ts rmsNorm and rope), on [1, C, 1, S]
// hidden states and [1, H, S, D] heads, with the intermediate vars optionally exposed.
function program(opts: { dtype?: DType; S?: number; expose?: boolean; axis?: number } = {}) {
  const dt = opts.dtype ?? 'fp16'
  const [C, S, H, D] = [48, opts.S ?? 1, 3, 16]
  const axis = opts.axis ?? 1
  const hShape = axis === 1 ? [1, C, 1, S] : [1, S, 1, C]
  const fn = buildFunction(
    {
      name: 'main',
      inputs: {
        h: tensor(dt, hShape),
        q: tensor(dt, [1, H, S, D]),
        cos: tensor(dt, [1, 1, S, D]),
        sin: tensor(dt, [1, 1, S, D]),
      },
    },
    (b, { h, q, cos, sin }) => {
      const gainShape = hShape.map((d, i) => (i === axis ? C : 1))
      const gainVals = Array.from({ length: C }, (_, i) => 0.5 + ((i * 37) % 11) / 7)
      const gain = b.const({
        type: tensor(dt, gainShape),
        data: dt === 'fp16' ? floatsToHalfs(gainVals) : new Float32Array(gainVals),
      })
      const both = b.concat({ values: [h, b.mul({ x: h, y: -1 })], axis })
      const ln = b.layer_norm({ x: both, axes: [axis], epsilon: 1e-5 })
      const end = hShape.map((d, i) => (i === axis ? C : d))
      const half = b.slice_by_index({ x: ln, begin: hShape.map(() => 0), end })
      const norm = b.mul({ x: half, y: gain })
      const x1 = b.slice_by_index({ x: q, begin: [0, 0, 0, 0], end: [1, H, S, D / 2] })
      const x2 = b.slice_by_index({ x: q, begin: [0, 0, 0, D / 2], end: [1, H, S, D] })
      const rot = b.concat({ values: [b.mul({ x: x2, y: -1 }), x1], axis: -1 })
      const roped = b.add({ x: b.mul({ x: q, y: cos }), y: b.mul({ x: rot, y: sin }) })
      const out: Record<string, Var> = { norm, roped }
      if (opts.expose) Object.assign(out, { ln, rot })
      return out
    },
  )
  return { prog: buildProgram([fn]), hShape, C, S, H, D }
}

function inputs(p: ReturnType<typeof program>, dtype: DType, seed: number): Record<string, Tensor> {
  const { hShape, S, H, D } = p
  const wave = (n: number, f: number, scale: number) =>
    Array.from({ length: n }, (_, i) => Math.sin(i * f + seed) * scale * (1 + (i % 5)))
  const h = wave(
    hShape.reduce((a, b) => a * b),
    0.71,
    3,
  )
  h[0] = -0 // signed zeros and a large value go through both paths alike
  h[1] = 700
  const dt = dtype as 'fp16' | 'fp32'
  return {
    h: makeTensor(dt, hShape, h),
    q: makeTensor(dt, [1, H, S, D], wave(H * S * D, 0.37, 2)),
    cos: makeTensor(dt, [1, 1, S, D], wave(S * D, 0.13, 0.2).map(Math.cos)),
    sin: makeTensor(dt, [1, 1, S, D], wave(S * D, 0.13, 0.2).map(Math.sin)),
  }
}

const ops = (f: ReturnType<typeof loadFunction>) => f.describePlan().map((s) => s.opType)

function bitsEqual(a: Tensor, b: Tensor, what: string) {
  assert.deepEqual(a.shape, b.shape, what)
  const x = a.data as Float32Array
  const y = b.data as Float32Array
  for (let i = 0; i < x.length; i++)
    assert.ok(Object.is(x[i], y[i]), `${what}[${i}]: ${x[i]} vs ${y[i]}`)
}

for (const [S, axis] of [
  [1, 1],
  [7, 1],
  [5, 3],
] as const)
  test(`fused RMSNorm and rotary chains give the unfused bits (S=${S}, norm axis ${axis})`, () => {
    const p = program({ S, axis })
    const fused = loadFunction(p.prog)
    const plain = loadFunction(p.prog, undefined, { fuse: false })
    assert.deepEqual(
      ops(fused).filter((t) => t.startsWith('anemll.')),
      [FUSED_RMS_NORM, FUSED_ROTATE_HALF],
    )
    assert.equal(ops(plain).length, 12)
    assert.equal(ops(fused).length, 2)
    for (const seed of [0, 1, 2]) {
      const x = inputs(p, 'fp16', seed)
      const b = plain.run(x)
      // the fused kernels: native (when built) and the TypeScript reference
      for (const a of [fused.run(x), withTypeScriptKernels(() => fused.run(x))])
        for (const k of ['norm', 'roped']) bitsEqual(a[k], b[k], k)
    }
  })

test('chains do not fuse when an intermediate is read elsewhere, or in fp32', () => {
  const exposed = loadFunction(program({ expose: true }).prog)
  assert.ok(!ops(exposed).some((t) => t.startsWith('anemll.')), ops(exposed).join())
  const fp32 = loadFunction(program({ dtype: 'fp32' }).prog)
  assert.ok(!ops(fp32).some((t) => t.startsWith('anemll.')), ops(fp32).join())
  const strict = loadFunction(program().prog, undefined, { strictFp16: true })
  assert.ok(!ops(strict).some((t) => t.startsWith('anemll.')))
})

test('a run that watches vars sees every var of the unfused chain', () => {
  const p = program({ S: 2 })
  const f = loadFunction(p.prog)
  const x = inputs(p, 'fp16', 4)
  const seen: string[] = []
  const watched = f.run(x, undefined, { onVar: (n, _v, op) => seen.push(`${op}:${n}`) })
  assert.ok(
    seen.some((s) => s.startsWith('layer_norm:')),
    seen.join(),
  )
  assert.ok(seen.some((s) => s.startsWith('concat:')))
  const plainRun = f.run(x)
  for (const k of ['norm', 'roped']) bitsEqual(watched[k], plainRun[k], k)
})

// Attention as the converter spells it (arch/blocks.ts attention): grouped queries against the
// whole cache, the causal mask added per head, softmax, then the values.
function attentionProgram(S: number, C: number, expose = false) {
  const [nH, nKV, hd] = [6, 2, 16]
  const rep = nH / nKV
  const fn = buildFunction(
    {
      name: 'main',
      inputs: {
        q: tensor('fp16', [1, nH, S, hd]),
        keys: tensor('fp16', [1, nKV, C, hd]),
        values: tensor('fp16', [1, nKV, C, hd]),
        mask: tensor('fp16', [1, 1, S, C]),
      },
    },
    (b, { q, keys, values, mask }) => {
      const qg = b.reshape({ x: q, shape: [1, nKV, rep * S, hd] })
      const scores = b.matmul({ x: qg, y: keys, transpose_y: true })
      const perHead = b.reshape({ x: scores, shape: [1, nH, S, C] })
      const probs = b.softmax({ x: b.add({ x: perHead, y: mask }), axis: -1 })
      const pg = b.reshape({ x: probs, shape: [1, nKV, rep * S, C] })
      const context = b.reshape({ x: b.matmul({ x: pg, y: values }), shape: [1, nH, S, hd] })
      const out: Record<string, Var> = { context }
      if (expose) out.probs = probs
      return out
    },
  )
  const wave = (n: number, f: number, seed: number) =>
    Array.from({ length: n }, (_, i) => Math.sin(i * f + seed) * (1 + (i % 7)))
  // row s sees columns [0, live + s) but `hole` (a padded slot); every key and value is finite
  const inputsFor = (live: number, seed: number) => {
    const m = new Float32Array(S * C).fill(-Infinity)
    for (let s = 0; s < S; s++)
      for (let c = 0; c < Math.min(C, live + s); c++) if (c !== 3 || live < 8) m[s * C + c] = 0
    return {
      q: makeTensor('fp16', [1, nH, S, hd], wave(nH * S * hd, 0.37, seed)),
      keys: makeTensor('fp16', [1, nKV, C, hd], wave(nKV * C * hd, 0.61, seed)),
      values: makeTensor('fp16', [1, nKV, C, hd], wave(nKV * C * hd, 0.23, seed)),
      mask: makeTensor('fp16', [1, 1, S, C], m),
    }
  }
  return { prog: buildProgram([fn]), inputsFor }
}

for (const [S, C] of [
  [1, 100],
  [7, 100],
  [4, 64],
] as const)
  test(`fused attention skips masked columns and gives the unfused bits (S=${S}, context ${C})`, () => {
    const p = attentionProgram(S, C)
    const fused = loadFunction(p.prog)
    const plain = loadFunction(p.prog, undefined, { fuse: false })
    assert.ok(ops(fused).includes(FUSED_ATTENTION), ops(fused).join())
    assert.ok(!ops(plain).includes(FUSED_ATTENTION))
    for (const live of [0, 1, 5, 31, 32, 33, 64, 70, C - S, C]) {
      const x = p.inputsFor(live, live)
      const b = plain.run(x).context
      bitsEqual(fused.run(x).context, b, `live ${live}: context`)
      const ts = withTypeScriptKernels(() => [fused.run(x).context, plain.run(x).context])
      bitsEqual(ts[0], ts[1], `live ${live}: context (TypeScript kernels)`)
    }
  })

test('attention does not fuse when its probabilities are read elsewhere', () => {
  const f = loadFunction(attentionProgram(1, 64, true).prog)
  assert.ok(!ops(f).includes(FUSED_ATTENTION), ops(f).join())
})

test('liveColumns: one past the last unmasked column of any row, in blocks of 32, within C', () => {
  const I = -Infinity
  const row = (C: number, live: number) => Array.from({ length: C }, (_, c) => (c < live ? 0 : I))
  assert.equal(liveColumns(row(100, 0), 100), 32)
  assert.equal(liveColumns(row(100, 1), 100), 32)
  assert.equal(liveColumns(row(100, 33), 100), 64)
  assert.equal(liveColumns(row(100, 97), 100), 100)
  assert.equal(liveColumns([...row(100, 3), ...row(100, 40)], 100), 64)
  // a finite mask value, however negative, keeps its column
  assert.equal(liveColumns([...row(100, 3).slice(0, 90), -65504, ...row(9, 0)], 100), 96)
  assert.equal(liveColumns(row(20, 2), 20), 20)
})
