// bench/runtime/matmul: GFLOP/s of the executor's conv-1×1 / linear / matmul paths on LLM-like
// shapes (SmolLM2-135M: hidden 576, MLP 1536, vocab 49152), decode (S = 1) and prefill (S = 64),
// through a one-op program (planning, transposes and fp16 rounding included) and through the raw
// gemmNT kernel, next to the naive reference kernel for scale. A baseline for optimization.
//
// Usage: npx tsx bench/runtime/matmul.ts [--quick]
import { cpus, loadavg } from 'node:os'
import { buildFunction, buildProgram, constant } from '../../src/mil/builder.js'
import { tensor } from '../../src/mil/types.js'
import { PackedBits } from '../../src/mil/value.js'
import { floatsToHalfs } from '../../src/util/fp16.js'
import { loadFunction } from '../../src/runtime/executor.js'
import { gemmNT, gemmNTNaive, type GemmArgs } from '../../src/runtime/gemm.js'
import { makeTensor } from '../../src/runtime/tensor.js'

const quick = process.argv.includes('--quick')

const rand = (n: number) => {
  const a = new Float32Array(n)
  let s = 12345
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0
    a[i] = ((s >>> 8) / 2 ** 24 - 0.5) * 0.1
  }
  return a
}

/**
 * Runs fn until `seconds` have passed (at least twice); returns CPU seconds per call (this
 * process's user + system time, which a busy machine distorts less than wall time).
 */
function time(fn: () => void, seconds = quick ? 0.3 : 1.5): number {
  fn()
  let n = 0
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  while (n < 2 || performance.now() - t0 < seconds * 1000) {
    fn()
    n++
  }
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / 1e6 / n
}

interface Case {
  name: string
  op: 'conv' | 'linear'
  C: number
  O: number
  S: number
}

const CASES: Case[] = [
  { name: 'decode  conv1x1 576→1536', op: 'conv', C: 576, O: 1536, S: 1 },
  { name: 'decode  conv1x1 1536→576', op: 'conv', C: 1536, O: 576, S: 1 },
  { name: 'decode  linear  576→49152 (LM head)', op: 'linear', C: 576, O: 49152, S: 1 },
  { name: 'prefill conv1x1 576→1536, S=64', op: 'conv', C: 576, O: 1536, S: 64 },
  { name: 'prefill conv1x1 1536→576, S=64', op: 'conv', C: 1536, O: 576, S: 64 },
  { name: 'prefill linear  576→1536, S=64', op: 'linear', C: 576, O: 1536, S: 64 },
]

function program(c: Case, dtype: 'fp16' | 'fp32') {
  const w = Array.from(rand(c.O * c.C))
  const x = c.op === 'conv' ? tensor(dtype, [1, c.C, 1, c.S]) : tensor(dtype, [c.S, c.C])
  const fn = buildFunction({ name: 'main', inputs: { x } }, (b, { x }) => ({
    y:
      c.op === 'conv'
        ? b.conv({ x, weight: constant(dtype, [c.O, c.C, 1, 1], w) })
        : b.linear({ x, weight: constant(dtype, [c.O, c.C], w) }),
  }))
  const exe = loadFunction(buildProgram([fn]))
  const input = makeTensor(dtype, x.shape as number[], rand(c.C * c.S))
  return () => exe.run({ x: input })
}

const fmt = (gflops: number) => gflops.toFixed(2).padStart(7)
const load = loadavg()[0].toFixed(1)
console.log(
  `node ${process.version}, ${cpus().length} cores, load ${load}; GFLOP/s = 2·C·O·S / CPU time, one thread`,
)
console.log(`${'case'.padEnd(40)}  exe fp16  exe fp32  gemmNT   naive`)
for (const c of CASES) {
  const flops = 2 * c.C * c.O * c.S
  const g = (s: number) => fmt(flops / s / 1e9)
  const f16 = time(program(c, 'fp16'))
  const f32 = time(program(c, 'fp32'))
  const args: GemmArgs = {
    a: rand(c.S * c.C),
    aOff: 0,
    b: rand(c.O * c.C),
    bOff: 0,
    out: new Float32Array(c.S * c.O),
    outOff: 0,
    M: c.S,
    N: c.O,
    K: c.C,
  }
  const raw = time(() => gemmNT(args))
  const naive = c.O * c.S > 200_000 ? NaN : time(() => gemmNTNaive(args), 0.3)
  console.log(
    `${c.name.padEnd(40)}  ${g(f16)}   ${g(f32)}  ${g(raw)}  ${Number.isNaN(naive) ? '      -' : g(naive)}`,
  )
}

/** conv 1×1 with a 4-bit LUT weight (groups of 16 output channels), packed vs decoded at load. */
function lutProgram(c: Case, dense: boolean) {
  const n = c.O * c.C
  const idx = PackedBits.pack(
    Array.from({ length: n }, (_, i) => (i * 7 + (i >> 5)) & 15),
    4,
  )
  const lut = floatsToHalfs(Array.from(rand((c.O / 16) * 16)))
  const fn = buildFunction(
    { name: 'main', inputs: { x: tensor('fp16', [1, c.C, 1, c.S]) } },
    (b, { x }) => {
      const indices = b.const({ type: tensor('uint4', [c.O, c.C, 1, 1]), data: idx }, 'w_idx')
      const table = b.const(
        { type: tensor('fp16', [c.O / 16, 1, 1, 1, 16, 1]), data: lut },
        'w_lut',
      )
      return { y: b.conv({ x, weight: b.constexpr_lut_to_dense({ indices, lut: table }) }) }
    },
  )
  const exe = loadFunction(buildProgram([fn]), 'main', { denseWeights: dense })
  const input = makeTensor('fp16', [1, c.C, 1, c.S], rand(c.C * c.S))
  return () => exe.run({ x: input })
}

console.log(`\n${'LUT4 conv1x1 (fp16 program)'.padEnd(40)}  packed   decoded`)
for (const c of CASES.filter((c) => c.op === 'conv')) {
  const g = (s: number) => fmt((2 * c.C * c.O * c.S) / s / 1e9)
  console.log(
    `${c.name.padEnd(40)}  ${g(time(lutProgram(c, false)))}   ${g(time(lutProgram(c, true)))}`,
  )
}
