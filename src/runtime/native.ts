// The optional native run-time kernels (native/kernels: C with AVX2/FMA/F16C on x86-64, portable
// C elsewhere, on every core through a thread pool), built by `npm run build:native`. They do
// what gemmNT, LutWeight.readRows and roundHalfInPlace do, in float32 with float32 accumulation;
// native.test.ts checks them against those TypeScript reference kernels. Without the addon, or
// with ANEMLL_NATIVE=0, the TypeScript kernels run.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

type F32 = Float32Array

export interface NativeKernels {
  /** out[outOff + m·rs + n·cs] = Σ_k a[aOff + m·lda + k] · B(n, k) + bias[biasOff + n];
   * B(n, k) = b[bOff + n·ldb + k], or b[bOff + k·ldb + n] when bKN. */
  gemm(
    a: F32,
    aOff: number,
    lda: number,
    M: number,
    N: number,
    K: number,
    out: F32,
    outOff: number,
    rs: number,
    cs: number,
    bias: F32 | null,
    biasOff: number,
    b: F32,
    bOff: number,
    ldb: number,
    bKN: number,
  ): void
  /** The same with fp16 B: B(n, k) = float(bh[bOff + n·ldb + k]). */
  hgemm(
    a: F32,
    aOff: number,
    lda: number,
    M: number,
    N: number,
    K: number,
    out: F32,
    outOff: number,
    rs: number,
    cs: number,
    bias: F32 | null,
    biasOff: number,
    bh: Uint16Array,
    bOff: number,
    ldb: number,
  ): void
  /** The same with B(n, k) = lut[⌊(row0 + n) / rpg⌋·2^bits + index((row0 + n)·K + k)]. */
  lutGemm(
    a: F32,
    aOff: number,
    lda: number,
    M: number,
    N: number,
    K: number,
    out: F32,
    outOff: number,
    rs: number,
    cs: number,
    bias: F32 | null,
    biasOff: number,
    idx: Uint8Array,
    bits: number,
    lut: F32,
    rpg: number,
    row0: number,
  ): void
  /** f[start..end) rounded to fp16 in place (as roundHalfInPlace). */
  roundHalf(f: F32, start: number, end: number): void
  info(): { isa: string; threads: number }
  setThreads(n: number): number
}

const ADDON = '../../native/build/Release/anemll_kernels.node'

let addon: NativeKernels | null | undefined

/** The native kernels, or undefined when they are not built (or ANEMLL_NATIVE=0). */
export function nativeKernels(): NativeKernels | undefined {
  if (addon === undefined) {
    addon = null
    if (process.env.ANEMLL_NATIVE !== '0') {
      try {
        addon = createRequire(import.meta.url)(fileURLToPath(new URL(ADDON, import.meta.url)))
      } catch {
        addon = null
      }
    }
  }
  return addon ?? undefined
}

/** Tests and benchmarks: run the TypeScript kernels (false) or the native ones again (true). */
export function useNative(on: boolean): void {
  addon = on ? undefined : null
  if (on && process.env.ANEMLL_NATIVE === '0') addon = null
}

/** What runs the matrix products: e.g. 'native avx2 × 2 threads' or 'typescript'. */
export function kernelInfo(): string {
  const k = nativeKernels()
  if (!k) return 'typescript'
  const i = k.info()
  return `native ${i.isa} × ${i.threads} thread${i.threads === 1 ? '' : 's'}`
}
