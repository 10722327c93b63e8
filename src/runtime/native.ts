// The optional native run-time kernels (native/kernels: C with AVX2/FMA/F16C on x86-64, portable
// C elsewhere, on every core through a thread pool), built by `npm run build:native`. They do
// what gemmNT, LutWeight.readRows and roundHalfInPlace do, in float32 with float32 accumulation;
// native.test.ts checks them against those TypeScript reference kernels. Without the addon, or
// with ANEMLL_NATIVE=0, the TypeScript kernels run.
import { envVar } from '../util/env.js'
import { loadAddon } from '../util/native-addon.js'

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
    /** A 6-bit B's indices as lutBytes6 encodes them (lut.ts): M = 1 products read these. */
    idx8?: Uint8Array | null,
  ): void
  /** out = x op y (0 add, 1 sub, 2 mul, 3 real_div) over a row-major output of shape `dims`,
   * each operand read at its own strides (0 where it broadcasts); Int32Arrays for add and sub
   * (wrapping, as an Int32Array stores the exact sum). */
  binary<T extends F32 | Int32Array>(
    op: number,
    x: T,
    y: T,
    out: T,
    dims: Int32Array,
    sx: Int32Array,
    sy: Int32Array,
  ): void
  /** dst[dstOff..+n) = src[srcOff..+n), both Float32Array or both Int32Array (concat's pieces). */
  copy<T extends F32 | Int32Array>(src: T, srcOff: number, dst: T, dstOff: number, n: number): void
  /** out = x / (1 + exp(−x)) elementwise, as the TypeScript silu. */
  silu(x: F32, out: F32): void
  /** softmax over the middle dim of x viewed as [outer, n, inner], as softmaxInto. */
  softmax(x: F32, out: F32, outer: number, n: number, inner: number): void
  /** fuse.ts's rms_norm_pair over x viewed as [outer, n, s], as its rmsBlock. */
  rmsPair(x: F32, out: F32, w: F32, outer: number, n: number, s: number, eps: number): void
  /** dst[dstOff + j·rows + i] = src[srcOff + i·cols + j]: transpose2d. */
  transpose(src: F32, srcOff: number, rows: number, cols: number, dst: F32, dstOff: number): void
  /** fuse.ts's rotate_half: x in rows of D, cos/sin (equal lengths, a multiple of D) repeating. */
  rope(x: F32, cos: F32, sin: F32, out: F32, D: number): void
  /** f[start..end) rounded to fp16 in place (as roundHalfInPlace). */
  roundHalf(f: F32, start: number, end: number): void
  /**
   * fuse-attention.ts's masked attention for decoding (M ≤ 4 query rows per matrix, Dv > 1), with
   * the gemm, elementwise and rounding kernels' arithmetic element for element; the matrices run
   * on the pool.
   */
  attention(
    q: F32,
    k: F32,
    v: F32,
    mask: F32,
    maskRow: Int32Array,
    out: F32,
    mats: number,
    M: number,
    D: number,
    C: number,
    Dv: number,
    /** Live columns; 0: found from the mask when the call runs (as liveColumns). */
    L: number,
  ): void
  /**
   * x[begin:end] = u in place over x of shape `dims`, each axis count[d] = end[d] − begin[d] long
   * (negative bounds count from the end; a slice outside x or of another length throws). The
   * bounds are read when the call runs, so a tape's KV-cache writes follow the position.
   */
  sliceWrite(
    u: F32,
    x: F32,
    begin: Int32Array,
    end: Int32Array,
    dims: Int32Array,
    count: Int32Array,
  ): void
  /** A tape of kernel calls ([name, ...arguments], each checked as a direct call checks it). */
  tapeCreate(calls: readonly (readonly unknown[])[]): NativeTape
  /** Runs a tape's calls in order. */
  tapeRun(tape: NativeTape): void
  info(): { isa: string; threads: number }
  /** The names of the kernel functions above (the addon's table): what a tape may hold. */
  readonly kernels: readonly string[]
  setThreads(n: number): number
}

/** An opaque handle to a native tape. */
export type NativeTape = { readonly __nativeTape: unique symbol }

let recordTo: ((call: unknown[]) => void) | undefined
let jsWork = false
let recorder: NativeKernels | undefined

let addon: NativeKernels | null | undefined

/** The native kernels, or undefined when they are not built (or ANEMLL_NATIVE=0). */
export function nativeKernels(): NativeKernels | undefined {
  if (addon === undefined) addon = loadAddon<NativeKernels>('anemll_kernels') ?? null
  if (recordTo && addon) return (recorder ??= recording(addon))
  return addon ?? undefined
}

/**
 * The native kernels when the work is at least `min` elements (below, the N-API call costs more
 * than a JavaScript loop), and always while a tape records (tape.ts: every step it batches must
 * run on the native kernels).
 */
export function nativeFor(n: number, min: number): NativeKernels | undefined {
  return n >= min || recordTo ? nativeKernels() : undefined
}

/** The addon with each computing kernel's calls reported to recordTo before they run. */
function recording(k: NativeKernels): NativeKernels {
  const r = { ...k }
  for (const name of k.kernels) {
    const f = (k as unknown as Record<string, (...a: unknown[]) => void>)[name]
    ;(r as Record<string, unknown>)[name] = (...args: unknown[]) => {
      recordTo?.([name, ...args])
      f(...args)
    }
  }
  return r
}

/**
 * Runs `f` with every native kernel call it makes reported to `log` (as [name, ...arguments]),
 * and the native kernels taken at any size (nativeFor). `jsWork` tells whether some kernel
 * computed in JavaScript meanwhile (noteJsWork). Without the addon nothing is reported.
 */
export function recordingNative<T>(
  log: (call: unknown[]) => void,
  f: () => T,
): { value: T; jsWork: boolean } {
  const prev = recordTo
  recordTo = log
  jsWork = false
  try {
    const value = f()
    return { value, jsWork }
  } finally {
    recordTo = prev
  }
}

/**
 * Kernels of tape.ts's native ops call this where they compute in JavaScript instead of through
 * native calls (a fallback, an im2col): a tape then reruns the op rather than skip that work.
 */
export function noteJsWork(): void {
  jsWork = true
}

/** Tests and benchmarks: run the TypeScript kernels (false) or the native ones again (true). */
export function useNative(on: boolean): void {
  addon = on ? undefined : null
  recorder = undefined
  if (on && envVar('ANEMLL_NATIVE') === '0') addon = null
}

/** Runs `f` on the TypeScript reference kernels (tests compare the native ones against them). */
export function withTypeScriptKernels<T>(f: () => T): T {
  useNative(false)
  try {
    return f()
  } finally {
    useNative(true)
  }
}

/** What runs the matrix products: e.g. 'native avx2 × 2 threads' or 'typescript'. */
export function kernelInfo(): string {
  const k = nativeKernels()
  if (!k) return 'typescript'
  const i = k.info()
  return `native ${i.isa} × ${i.threads} thread${i.threads === 1 ? '' : 's'}`
}
