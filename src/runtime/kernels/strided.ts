// Strided walks over flat row-major data: gathering a strided selection into a dense output
// (transpose, slicing) and the inverse scatter (slice_update). A walk is a shape plus a source
// stride per dim, visited row-major one innermost row at a time; coalesce() shortens it first.
// Row copies come in three kinds: the typed-array builtin for long contiguous rows (memcpy), a
// Float32Array-only loop (monomorphic element access), and a loop for any storage type.
import { numel, type NumericData } from '../tensor.js'

/** A strided walk with size-1 dims dropped and dims merged where `src` steps through them as one. */
export interface CopyPlan {
  readonly shape: number[]
  readonly src: number[]
}

/** Simplifies (shape, src) without changing which elements are visited, nor their order. */
export function coalesce(shape: readonly number[], src: readonly number[]): CopyPlan {
  const out: CopyPlan = { shape: [], src: [] }
  if (numel(shape) === 0) return { shape: [0], src: [1] }
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue
    const last = out.shape.length - 1
    if (last >= 0 && out.src[last] === src[d] * shape[d]) {
      out.shape[last] *= shape[d]
      out.src[last] = src[d]
    } else {
      out.shape.push(shape[d])
      out.src.push(src[d])
    }
  }
  return out
}

/** Rows at least this long are copied with set(subarray) rather than a loop. */
const SET_MIN = 64

/** Calls row(srcOffset, denseOffset) for each innermost row (length shape.at(-1)) of the walk. */
function walk(
  shape: readonly number[],
  src: readonly number[],
  base: number,
  row: (off: number, o: number) => void,
): void {
  const r = shape.length
  const n = shape[r - 1]
  const total = numel(shape)
  const count = new Int32Array(r)
  let off = base
  for (let o = 0; o < total; o += n) {
    row(off, o)
    // odometer step over the outer dims
    for (let d = r - 2; d >= 0; d--) {
      count[d]++
      off += src[d]
      if (count[d] < shape[d]) break
      off -= src[d] * shape[d]
      count[d] = 0
    }
  }
}

/**
 * out[idx] = x[base + Σ idx[d]·src[d]], walking out row-major (transpose and slicing).
 */
export function stridedCopy(
  xd: NumericData,
  base: number,
  od: NumericData,
  shape: readonly number[],
  src: readonly number[],
): void {
  const r = shape.length
  if (numel(shape) === 0) return
  if (r === 0) {
    od[0] = xd[base]
    return
  }
  const n = shape[r - 1]
  const s = src[r - 1]
  if (s === 1 && n >= SET_MIN) walk(shape, src, base, (off, o) => copyRun(xd, off, od, o, n))
  else if (xd instanceof Float32Array && od instanceof Float32Array)
    walk(shape, src, base, (off, o) => gatherF32(xd, off, s, od, o, n))
  else walk(shape, src, base, (off, o) => gatherAny(xd, off, s, od, o, n))
}

/** The inverse walk: x[base + Σ idx[d]·dst[d]] = u[idx] (slice_update). */
export function stridedScatter(
  ud: NumericData,
  xd: NumericData,
  base: number,
  shape: readonly number[],
  dst: readonly number[],
): void {
  const r = shape.length
  if (numel(shape) === 0) return
  if (r === 0) {
    xd[base] = ud[0]
    return
  }
  const n = shape[r - 1]
  const s = dst[r - 1]
  if (s === 1 && n >= SET_MIN) walk(shape, dst, base, (off, o) => copyRun(ud, o, xd, off, n))
  else if (ud instanceof Float32Array && xd instanceof Float32Array)
    walk(shape, dst, base, (off, o) => scatterF32(ud, o, xd, off, s, n))
  else walk(shape, dst, base, (off, o) => scatterAny(ud, o, xd, off, s, n))
}

/** od[o..o+n) = xd[from..from+n): a loop for short runs, memcpy (set) for long ones. */
export function copyRun(xd: NumericData, from: number, od: NumericData, o: number, n: number) {
  if (n >= SET_MIN) od.set(xd.subarray(from, from + n), o)
  else if (xd instanceof Float32Array && od instanceof Float32Array)
    gatherF32(xd, from, 1, od, o, n)
  else gatherAny(xd, from, 1, od, o, n)
}

type F32 = Float32Array

function gatherF32(xd: F32, off: number, s: number, od: F32, o: number, n: number) {
  for (let i = 0; i < n; i++) od[o + i] = xd[off + i * s]
}

function gatherAny(xd: NumericData, off: number, s: number, od: NumericData, o: number, n: number) {
  for (let i = 0; i < n; i++) od[o + i] = xd[off + i * s]
}

function scatterF32(ud: F32, o: number, xd: F32, off: number, s: number, n: number) {
  for (let i = 0; i < n; i++) xd[off + i * s] = ud[o + i]
}

function scatterAny(
  ud: NumericData,
  o: number,
  xd: NumericData,
  off: number,
  s: number,
  n: number,
) {
  for (let i = 0; i < n; i++) xd[off + i * s] = ud[o + i]
}
