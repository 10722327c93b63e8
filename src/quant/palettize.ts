// Palettizes one weight into the two constants of an iOS18 `constexpr_lut_to_dense`: uint<bits>
// indices with the weight's shape (bit-packed) and an fp16 LUT per group of output channels.
// k-means per group is 1-D and near-optimal (see kmeans1d.ts); large weights run on every core.
import { tensor } from '../mil/types.js'
import { PackedBits, type TensorValue } from '../mil/value.js'
import { AnemllError, UsageError } from '../util/errors.js'
import { floatsToHalfs } from '../util/fp16.js'
import { GroupScratch, type GroupJob } from './kernel.js'
import { nativeKernel } from './native.js'
import { defaultThreads, runJob } from './pool.js'
import { lutLayout, type LutSpec } from './spec.js'

/** A palettized weight: the two constants and the reconstruction quality. */
export interface Palettized {
  /** uint<bits>, the weight's shape (PackedBits; Uint8Array for 8 bits). */
  indices: TensorValue
  /** fp16 `[C_out/G, 1, …, 1, 2^bits, 1]` (`[1, …, 1, 2^bits, 1]` per tensor), ascending per group. */
  lut: TensorValue
  /** 10·log10(Σx² / Σ(x − x̂)²) against the fp16-rounded weight; Infinity when exact. */
  sqnrDb: number
}

export interface PalettizeOptions {
  /** Threads to use, this one included (default: every core). Results do not depend on it. */
  threads?: number
  /**
   * Calibration-aware k-means: the importance of each input position (one positive value per
   * element of an output channel, e.g. E[x_c²] of a projection's input), which weighs every
   * weight w[o, c] in its group's k-means instead of counting it once. Omitted: data-free.
   */
  importance?: Float64Array
}

/** Below this many weights the workers' overhead is not worth it. */
const PARALLEL_MIN = 1 << 20

let scratch: GroupScratch | undefined

type Ctor<T> = {
  new (b: ArrayBufferLike, offset: number, length: number): T
  BYTES_PER_ELEMENT: number
}

// Shared buffers are reused from call to call, one per role, growing as needed: the workers keep
// a reference to every buffer they were sent until their own (rarely run) GC, so a fresh
// SharedArrayBuffer per weight would pile up hundreds of MB over a conversion.
const arena = new Map<string, SharedArrayBuffer>()

function alloc<T extends Uint8Array | Uint16Array | Float32Array | Float64Array>(
  Ctor: Ctor<T>,
  bytes: number,
  shared: boolean,
  role: string,
): T {
  const n = bytes / Ctor.BYTES_PER_ELEMENT
  if (!shared) return new Ctor(new ArrayBuffer(bytes), 0, n)
  let sab = arena.get(role)
  if (!sab || sab.byteLength < bytes) arena.set(role, (sab = new SharedArrayBuffer(bytes)))
  const view = new Ctor(sab, 0, n)
  view.fill(0)
  return view
}

/**
 * The weight as the kernel reads it, in shared memory when workers will read it (a weight already
 * in a SharedArrayBuffer is used as is). Float32 stays float32 for the native kernel, which rounds
 * to fp16 as it reads, on every thread; the TypeScript kernel gets fp16 bits.
 */
function kernelInput(
  weight: Float32Array | Uint16Array,
  shared: boolean,
): Uint16Array | Float32Array {
  const usable = !shared || weight.buffer instanceof SharedArrayBuffer
  if (weight instanceof Float32Array && nativeKernel()) {
    if (usable) return weight
    const copy = alloc(Float32Array, 4 * weight.length, true, 'src32')
    copy.set(weight)
    return copy
  }
  if (usable && weight instanceof Uint16Array) return weight
  const dst = alloc(Uint16Array, 2 * weight.length, shared, 'src16')
  if (weight instanceof Uint16Array) dst.set(weight)
  else floatsToHalfs(weight, dst)
  return dst
}

/** Sums per-group errors in group order (so the figure is the same on any thread count). */
function sqnrOf(err: Float64Array, groups: number, groupElems: number, shape: readonly number[]) {
  let signal = 0
  let noise = 0
  for (let g = 0; g < groups; g++) {
    if (Number.isNaN(err[2 * g])) {
      const rows = groups === 1 ? 'the tensor' : `output channels ${(g * shape[0]) / groups}…`
      throw new AnemllError(
        `cannot palettize a [${shape.join(', ')}] weight: ${rows} hold NaN or a value beyond ` +
          `fp16's range (±65504); ${groupElems} weights per LUT`,
      )
    }
    signal += err[2 * g]
    noise += err[2 * g + 1]
  }
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise)
}

/**
 * k-means palettization of a weight with output channels on axis 0: each group of
 * `spec.groupSize` channels (all of them when 0) gets its own 2^bits-entry fp16 LUT. `weight` is
 * float32 (rounded to fp16 first) or fp16 bit patterns. Deterministic: the same bytes every run,
 * on any number of threads.
 * @throws UsageError for a bad shape or spec; AnemllError for NaN or out-of-fp16-range weights
 * @example palettize(w, [8192, 2048, 1, 1], { bits: 4, groupSize: 8 }).sqnrDb
 */
export function palettize(
  weight: Float32Array | Uint16Array,
  shape: readonly number[],
  spec: LutSpec,
  opts: PalettizeOptions = {},
): Palettized {
  const layout = lutLayout(shape, spec)
  const { groups, groupElems } = layout
  const n = groups * groupElems
  if (weight.length !== n) {
    throw new UsageError(
      `weight has ${weight.length} values, shape [${shape.join(', ')}] needs ${n}`,
    )
  }
  const imp = opts.importance
  if (imp && (imp.length !== n / shape[0] || !imp.every((x) => x > 0 && x < Infinity))) {
    throw new UsageError(
      `importance for a [${shape.join(', ')}] weight must hold ${n / shape[0]} positive finite ` +
        `values (one per element of an output channel), got ${imp.length}`,
    )
  }
  const threads = Math.max(1, Math.floor(opts.threads ?? defaultThreads()))
  const shared = threads > 1 && n >= PARALLEL_MIN && groups > 8
  const entries = 2 ** spec.bits
  const job: GroupJob = {
    src: kernelInput(weight, shared),
    bits: spec.bits,
    groupElems,
    groups,
    out: alloc(Uint8Array, Math.ceil((n * spec.bits) / 8), shared, 'out'),
    lut: alloc(Uint16Array, 2 * groups * entries, shared, 'lut'),
    err: alloc(Float64Array, 16 * groups, shared, 'err'),
    ...(imp ? { importance: imp } : {}),
  }
  scratch ??= new GroupScratch()
  runJob(job, shared ? threads : 1, scratch)
  const sqnrDb = sqnrOf(job.err, groups, groupElems, shape)
  // Copies leave shared memory behind: callers get plain arrays.
  const bytes = shared ? job.out.slice() : job.out
  const dtype = `uint${spec.bits}` as const
  return {
    indices: {
      type: tensor(dtype, [...shape]),
      data: spec.bits === 8 ? bytes : new PackedBits(bytes, spec.bits, n),
    },
    lut: { type: tensor('fp16', layout.lutShape), data: shared ? job.lut.slice() : job.lut },
    sqnrDb,
  }
}
