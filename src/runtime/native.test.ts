// The native kernels against the TypeScript reference kernels they replace: gemmNTNaive (float64
// sums) over weights decoded by LutWeight.readRows, and roundHalfInPlace. Float32 accumulation in
// another order differs from float64 by rounding only, so products are compared within a bound
// scaled by Σ|a·b| of each output.
import { test } from 'node:test'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'
import { PackedBits } from '../mil/value.js'
import { gemmNTNaive, transpose2dInto } from './gemm.js'
import { LutWeight, lutBytes6 } from './lut.js'
import { nativeKernels, withTypeScriptKernels, type NativeKernels } from './native.js'
import { buildFunction, buildProgram } from '../mil/builder.js'
import { tensor } from '../mil/types.js'
import { loadFunction } from './executor.js'
import { makeTensor } from './tensor.js'
import { roundHalfInPlace } from './round.js'
import { halfsToFloats } from '../util/fp16.js'

const native = nativeKernels()
const skip = native ? false : 'native kernels not built (npm run build:native)'

test('the native kernels are built in CI', { skip: !process.env.CI }, () => {
  assert.ok(native, 'CI builds native/kernels: node native/build.mjs --strict')
})

test(
  "the addon's `kernels` names each of its kernel functions once, and nothing else",
  { skip },
  () => {
    const k = native as unknown as Record<string, unknown>
    const fns = Object.keys(k).filter((n) => typeof k[n] === 'function')
    // the four that run or describe kernels rather than compute
    const control = ['tapeCreate', 'tapeRun', 'info', 'setThreads']
    assert.deepEqual([...native!.kernels].sort(), fns.filter((n) => !control.includes(n)).sort())
    // a tape accepts every one of them by name (a wrong name is refused)
    assert.throws(() => native!.tapeCreate([['noSuchKernel']]), /unknown kernel/)
  },
)

/** A deterministic pseudo-random stream in [-1, 1). */
function rng(seed: number) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 2 ** 31 - 1
  }
}

function randomFloats(n: number, r: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => r() * scale)
}

interface Case {
  M: number
  N: number
  K: number
  bits: number
  rpg: number
  row0: number
  bias: boolean
  strided: boolean
  fp16?: boolean
}

/** Output (m, n) of the reference and its Σ|a·b| (the scale of float32 rounding error). */
function reference(a: Float32Array, w: Float32Array, c: Case, bias?: Float32Array) {
  const out = new Float64Array(c.M * c.N)
  gemmNTNaive({ a, aOff: 0, b: w, bOff: 0, out: out as never, outOff: 0, M: c.M, N: c.N, K: c.K })
  const mag = new Float64Array(c.M * c.N)
  for (let m = 0; m < c.M; m++)
    for (let n = 0; n < c.N; n++) {
      let s = 0
      for (let k = 0; k < c.K; k++) s += Math.abs(a[m * c.K + k] * w[n * c.K + k])
      mag[m * c.N + n] = s
      if (bias) out[m * c.N + n] += bias[n]
    }
  return { out, mag }
}

function check(got: (m: number, n: number) => number, ref: ReturnType<typeof reference>, c: Case) {
  for (let m = 0; m < c.M; m++)
    for (let n = 0; n < c.N; n++) {
      const want = ref.out[m * c.N + n]
      const tol = 2e-6 * ref.mag[m * c.N + n] + 1e-6 * Math.abs(want) + 1e-30
      const v = got(m, n)
      assert.ok(
        Math.abs(v - want) <= tol,
        `${JSON.stringify(c)} (${m}, ${n}): native ${v}, reference ${want}`,
      )
    }
}

function runLut(k: NativeKernels, c: Case, seed: number) {
  const r = rng(seed)
  const rows = c.row0 + c.N
  const groups = Math.ceil(rows / c.rpg)
  const E = 2 ** c.bits
  const idx = Array.from({ length: rows * c.K }, () => Math.floor(((r() + 1) / 2) * E))
  const packed = new PackedBits(PackedBits.pack(idx, c.bits).bytes, c.bits, idx.length)
  const lut = randomFloats(groups * E, r)
  // fp16-exact tables (what conversions hold) take the byte-plane paths, others the float ones
  if (c.fp16) roundHalfInPlace(lut)
  const w = new LutWeight('fp32', [groups * c.rpg, c.K], packed, lut, [groups, 1, E, 1])
  const dense = new Float32Array(c.N * c.K)
  w.readRows(c.row0, c.N, dense)
  const a = randomFloats(c.M * c.K, r, 2)
  const bias = c.bias ? randomFloats(c.N + 3, r) : undefined
  const ref = reference(a, dense, c, bias?.subarray(3))
  // strided: outputs land transposed ([N, M], as conv writes them) after a 5-element offset
  const [rs, cs, off] = c.strided ? [1, c.M, 5] : [c.N, 1, 0]
  const out = new Float32Array(off + c.M * c.N).fill(NaN)
  const lay = w.nativeLayout!
  assert.ok(lay, 'one table per row group: the native layout applies')
  k.lutGemm(
    a,
    0,
    c.K,
    c.M,
    c.N,
    c.K,
    out,
    off,
    rs,
    cs,
    bias ?? null,
    3,
    lay.bytes,
    c.bits,
    lut,
    c.rpg,
    c.row0,
  )
  check((m, n) => out[off + m * rs + n * cs], ref, c)
  if (c.bits === 6) {
    // the byte-per-index form of a 6-bit weight gives the packed form's bits
    const again = new Float32Array(out.length).fill(NaN)
    const b6 = lutBytes6(lay.bytes, rows * c.K)
    k.lutGemm(
      a,
      0,
      c.K,
      c.M,
      c.N,
      c.K,
      again,
      off,
      rs,
      cs,
      bias ?? null,
      3,
      lay.bytes,
      6,
      lut,
      c.rpg,
      c.row0,
      b6,
    )
    for (let i = off; i < out.length; i++) assert.ok(Object.is(again[i], out[i]), `idx8 [${i}]`)
  }
  return out
}

test('lutGemm equals readRows + gemmNTNaive for every width, shape and layout', { skip }, () => {
  const k = native!
  let seed = 1
  for (const bits of [1, 2, 3, 4, 6, 8])
    for (const [M, N, K] of [
      [1, 1, 1],
      [1, 17, 33],
      [1, 40, 64],
      [1, 24, 100],
      [1, 20, 192],
      [2, 16, 16],
      [5, 31, 7],
      [6, 16, 48],
      [7, 33, 15],
      [64, 20, 96],
    ])
      for (const rpg of [1, 8])
        runLut(
          k,
          { M, N, K, bits, rpg, row0: rpg * 2, bias: seed % 2 === 0, strided: seed % 3 === 0 },
          seed++,
        )
})

test('lutGemm: results do not depend on the thread count', { skip }, () => {
  const k = native!
  const before = k.info().threads
  try {
    const c = { M: 1, N: 300, K: 576, bits: 4, rpg: 8, row0: 0, bias: true, strided: false }
    const cases = [c, { ...c, fp16: true }, { ...c, bits: 6, fp16: true }, { ...c, M: 9, bits: 6 }]
    k.setThreads(1)
    const one = cases.map((x, i) => runLut(k, x, 7 + i))
    k.setThreads(4)
    const many = cases.map((x, i) => runLut(k, x, 7 + i))
    assert.deepEqual(many, one)
  } finally {
    k.setThreads(before)
  }
})

test(
  'the pool: thousands of back-to-back jobs of every size give the one-thread results',
  { skip },
  () => {
    // Jobs follow each other within microseconds, so workers still busy with (or waking for) one
    // job see the next one start: a task claimed for the wrong job would show as a wrong sum.
    const k = native!
    const before = k.info().threads
    const K = 256 // every job here is big enough for the pool
    const sizes = [260, 300, 517, 1000, 2000, 3000]
    const a = new Float32Array(K).map((_, i) => ((i * 7) % 13) - 6)
    const b = new Float32Array(3007 * K).map((_, i) => ((i * 11) % 17) - 8)
    const run = () =>
      Array.from({ length: 3000 }, (_, i) => {
        const N = sizes[i % sizes.length]
        const out = new Float32Array(N)
        k.gemm(a, 0, K, 1, N, K, out, 0, N, 1, null, 0, b, (i % 7) * K, K, 0)
        return out.reduce((s, v, j) => s + v * (j + 1), 0)
      })
    try {
      k.setThreads(1)
      const one = run()
      k.setThreads(4)
      assert.deepEqual(run(), one)
    } finally {
      k.setThreads(before)
    }
  },
)

test(
  'transpose equals the TypeScript transpose2d, ragged edges and offsets included',
  { skip },
  () => {
    const k = native!
    for (const [rows, cols] of [
      [1, 1],
      [8, 8],
      [3, 17],
      [64, 576],
      [577, 65],
      [9, 1],
    ]) {
      const src = new Float32Array(5 + rows * cols).map((_, i) => i * 0.5 - 7)
      const want = new Float32Array(3 + rows * cols).fill(NaN)
      const got = want.slice()
      transpose2dInto(src, 5, rows, cols, want, 3)
      k.transpose(src, 5, rows, cols, got, 3)
      assert.deepEqual(got, want, `${rows}×${cols}`)
    }
    const a = new Float32Array(8)
    assert.throws(() => k.transpose(a, 1, 2, 4, a, 0), /bad arguments/)
    assert.throws(() => k.transpose(a, 0, 2, 4, new Float32Array(7), 0), /bad arguments/)
  },
)

test('gemm equals gemmNTNaive for B as [N, K] and as [K, N]', { skip }, () => {
  const k = native!
  let seed = 100
  for (const [M, N, K] of [
    [1, 1, 1],
    [1, 50, 70],
    [3, 512, 64],
    [3, 64, 512],
    [6, 16, 1],
    [13, 35, 29],
    [64, 33, 576],
  ]) {
    const r = rng(seed++)
    const c = { M, N, K, bits: 0, rpg: 1, row0: 0, bias: seed % 2 === 0, strided: false }
    const a = randomFloats(M * K, r)
    const b = randomFloats(N * K, r)
    const bias = c.bias ? randomFloats(N, r) : undefined
    const ref = reference(a, b, c, bias)
    const out = new Float32Array(M * N)
    k.gemm(a, 0, K, M, N, K, out, 0, N, 1, bias ?? null, 0, b, 0, K, 0)
    check((m, n) => out[m * N + n], ref, c)
    // the same B stored [K, N]
    const bt = new Float32Array(K * N)
    for (let n = 0; n < N; n++) for (let q = 0; q < K; q++) bt[q * N + n] = b[n * K + q]
    out.fill(NaN)
    k.gemm(a, 0, K, M, N, K, out, 0, N, 1, bias ?? null, 0, bt, 0, N, 1)
    check((m, n) => out[m * N + n], ref, c)
  }
})

test('hgemm equals gemmNTNaive over the fp16 weights it decodes', { skip }, () => {
  const k = native!
  let seed = 200
  for (const [M, N, K] of [
    [1, 1, 1],
    [1, 40, 70],
    [1, 33, 576],
    [5, 17, 9],
    [64, 40, 100],
  ]) {
    const r = rng(seed++)
    const c = { M, N, K, bits: 0, rpg: 1, row0: 0, bias: seed % 2 === 0, strided: seed % 3 === 0 }
    const a = randomFloats(M * K, r)
    // fp16 bits of every kind: normal, subnormal, zero, both signs (no inf/NaN)
    const bits = Uint16Array.from(
      { length: (N + 2) * K },
      () => Math.floor(((r() + 1) / 2) * 0x7bff) | (r() < 0 ? 0x8000 : 0),
    )
    const b = halfsToFloats(bits).subarray(2 * K)
    const bias = c.bias ? randomFloats(N, r) : undefined
    const ref = reference(a, b, c, bias)
    const [rs, cs] = c.strided ? [1, M] : [N, 1]
    const out = new Float32Array(M * N).fill(NaN)
    k.hgemm(a, 0, K, M, N, K, out, 0, rs, cs, bias ?? null, 0, bits, 2 * K, K)
    check((m, n) => out[m * rs + n * cs], ref, c)
  }
  assert.throws(
    () =>
      k.hgemm(
        new Float32Array(4),
        0,
        4,
        1,
        2,
        4,
        new Float32Array(2),
        0,
        2,
        1,
        null,
        0,
        new Uint16Array(7),
        0,
        4,
      ),
    /B out of range/,
  )
})

test('roundHalf equals roundHalfInPlace', { skip }, () => {
  const r = rng(5)
  const special = [
    0,
    -0,
    1,
    -1,
    65504,
    65519.99,
    65520,
    -65520,
    1e9,
    Infinity,
    -Infinity,
    2 ** -24,
    2 ** -25,
    3 * 2 ** -26,
    2 ** -14,
    2 ** -14 - 2 ** -30,
    1e-40,
    1.00048828125,
    1.000732421875,
  ]
  const f = Float32Array.from([
    ...special,
    ...Array.from({ length: 5000 }, (_, i) => r() * 2 ** ((i % 40) - 28)),
  ])
  const want = f.slice()
  roundHalfInPlace(want)
  const got = f.slice()
  native!.roundHalf(got, 0, got.length)
  // bit for bit, except that the TypeScript kernel writes +0 where F16C keeps -0 (both zero)
  for (let i = 0; i < f.length; i++)
    if (!(got[i] === 0 && want[i] === 0))
      assert.equal(new Uint32Array(got.buffer)[i], new Uint32Array(want.buffer)[i], `${f[i]}`)
  const nan = Float32Array.of(NaN, 1.1)
  native!.roundHalf(nan, 0, 2)
  assert.ok(Number.isNaN(nan[0]))
})

test(
  'the pool outlives a worker_thread that loaded the kernels (no unload under running threads)',
  { skip },
  () => {
    // Node unloads an addon when the last worker that loaded it exits; the pool's threads must
    // not be left running unmapped code (this crashed before the library pinned itself).
    const addon = fileURLToPath(
      new URL('../../native/build/Release/anemll_kernels.node', import.meta.url),
    )
    const worker = `
    const { createRequire } = require('node:module')
    const k = createRequire(${JSON.stringify(addon)})(${JSON.stringify(addon)})
    k.setThreads(2)
    const a = new Float32Array(64 * 512).fill(1), b = new Float32Array(512 * 512).fill(1)
    const out = new Float32Array(64 * 512)
    for (let i = 0; i < 20; i++) k.gemm(a, 0, 512, 64, 512, 512, out, 0, 512, 1, null, 0, b, 0, 512, 0)`
    const main = `
    const { Worker } = require('node:worker_threads')
    const w = new Worker(${JSON.stringify(worker)}, { eval: true })
    w.on('exit', (c) => { if (c) process.exit(c); setTimeout(() => process.exit(0), 300) })`
    const r = spawnSync(process.execPath, ['-e', main], { encoding: 'utf8' })
    assert.equal(r.status, 0, `exit ${r.status} signal ${r.signal} ${r.stderr}`)
  },
)

test('the kernels refuse ranges outside their arrays', { skip }, () => {
  const k = native!
  const a = new Float32Array(8)
  const out = new Float32Array(4)
  const b = new Float32Array(8)
  assert.throws(() => k.gemm(a, 1, 8, 1, 1, 8, out, 0, 1, 1, null, 0, b, 0, 8, 0), /out of range/)
  assert.throws(() => k.gemm(a, 0, 8, 1, 5, 8, out, 0, 5, 1, null, 0, b, 0, 8, 0), /range/)
  assert.throws(() => k.gemm(a, 0, 8, 1, 2, 8, out, 0, 2, 1, null, 0, b, 0, 8, 0), /B out of range/)
  const idx = new Uint8Array(4)
  const lut = new Float32Array(16)
  assert.throws(
    () => k.lutGemm(a, 0, 8, 1, 2, 8, out, 0, 2, 1, null, 0, idx, 4, lut, 8, 0),
    /out of range/,
  )
  assert.throws(
    () => k.lutGemm(a, 0, 8, 1, 1, 8, out, 0, 1, 1, null, 0, idx, 4, lut, 0, 0),
    /bad LUT/,
  )
  const idx6 = new Uint8Array(6)
  const lut64 = new Float32Array(64)
  assert.throws(
    () =>
      k.lutGemm(a, 0, 8, 1, 1, 8, out, 0, 1, 1, null, 0, idx6, 6, lut64, 8, 0, new Uint8Array(7)),
    /idx8 out of range/,
  )
  assert.throws(
    () => k.lutGemm(a, 0, 8, 1, 1, 8, out, 0, 1, 1, null, 0, idx, 4, lut, 8, 0, new Uint8Array(8)),
    /not 6-bit/,
  )
  // attention: q [1, 2, 4], k and v [1, 4, 4], a mask row of 4 (its offset must leave L of it)
  const f = (n: number) => new Float32Array(n)
  assert.throws(
    () => k.attention(f(8), f(16), f(16), f(4), Int32Array.of(0, 1), f(8), 1, 2, 4, 4, 4, 4),
    /mask rows out of range/,
  )
  assert.throws(
    () => k.attention(f(8), f(16), f(15), f(4), Int32Array.of(0, 0), f(8), 1, 2, 4, 4, 4, 4),
    /bad arguments/,
  )
  k.attention(f(8), f(16), f(16), f(4), Int32Array.of(0, 0), f(8), 1, 2, 4, 4, 4, 4)
  assert.throws(() => k.roundHalf(a, 0, 9), /bad arguments/)
  assert.throws(() => k.rmsPair(a, out, b, 1, 4, 2, 1e-5), /bad arguments/) // out holds 4 < 8
  assert.throws(() => k.rmsPair(a, a, out, 1, 8, 1, 1e-5), /bad arguments/) // w holds 4 < 8
  assert.throws(() => k.rmsPair(a, a, b, 1, 8, 1, NaN), /bad arguments/)
  assert.throws(() => k.rope(a, b, b, out, 4), /bad arguments/) // out holds 4 < 8
  assert.throws(() => k.rope(a, b, b.subarray(0, 4), a, 4), /bad arguments/) // cos ≠ sin
  assert.throws(() => k.rope(a, b, b, a, 3), /bad arguments/) // odd D
})

test(
  'native binary ops equal the TypeScript ones bit for bit, broadcasting included',
  { skip },
  () => {
    const r = rng(77)
    const shapes: [number[], number[]][] = [
      [
        [1, 9, 64, 512],
        [1, 1, 64, 512],
      ],
      [
        [1, 576, 1, 64],
        [1, 576, 1, 1],
      ],
      [
        [3, 1, 40, 70],
        [1, 5, 40, 1],
      ],
      [[4096], []],
      [
        [2, 3, 4, 5, 6, 7],
        [6, 1],
      ],
    ]
    for (const [a, b] of shapes) {
      for (const [xs, ys] of [
        [a, b],
        [b, a],
      ]) {
        const fn = buildFunction(
          { name: 'main', inputs: { x: tensor('fp32', xs), y: tensor('fp32', ys) } },
          (bld, { x, y }) => ({
            add: bld.add({ x, y }),
            sub: bld.sub({ x, y }),
            mul: bld.mul({ x, y }),
            div: bld.real_div({ x, y }),
          }),
        )
        const prog = buildProgram([fn])
        const n = (s: number[]) => s.reduce((p, q) => p * q, 1)
        const x = makeTensor(
          'fp32',
          xs,
          Array.from({ length: n(xs) }, () => r() * 3),
        )
        const y = makeTensor(
          'fp32',
          ys,
          Array.from({ length: n(ys) }, () => r() * 3 + 0.01),
        )
        const want = withTypeScriptKernels(() => loadFunction(prog).run({ x, y }))
        assert.deepEqual(loadFunction(prog).run({ x, y }), want, `${xs} with ${ys}`)
      }
    }
  },
)

test(
  'native softmax and silu equal the TypeScript ones (masked rows, every axis)',
  { skip },
  () => {
    const r = rng(91)
    const shape = [2, 9, 16, 64]
    const n = shape.reduce((p, q) => p * q, 1)
    // mostly moderate values; every 13th spans ±800, past exp's overflow and underflow
    const values = Array.from({ length: n }, (_, i) =>
      i % 97 === 0 ? -Infinity : i % 13 === 0 ? (r() - 0.5) * 1600 : r() * 12,
    )
    values[5] = NaN
    for (let i = 64 * 3; i < 64 * 4; i++) values[i] = -Infinity // a fully masked row
    const fn = buildFunction(
      { name: 'main', inputs: { x: tensor('fp32', shape) } },
      (b, { x }) => ({
        s3: b.softmax({ x, axis: -1 }),
        s1: b.softmax({ x, axis: 1 }),
        s2: b.softmax({ x, axis: 2 }),
        silu: b.silu({ x }),
        // rows of 9216: the native softmax takes them in chunks
        long: b.softmax({ x: b.reshape({ x, shape: [2, n / 2] }), axis: -1 }),
      }),
    )
    const prog = buildProgram([fn])
    const x = makeTensor('fp32', shape, values)
    const want = withTypeScriptKernels(() => loadFunction(prog).run({ x }))
    assert.deepEqual(loadFunction(prog).run({ x }), want)
  },
)
