// fp16 rounding of float32 buffers in place, and the non-finite scans of strict-fp16 mode.
// Works on the float's bits: the hot path is one add and one mask per element, no table lookups.

import { nativeFor, noteJsWork } from './native.js'

const RINT = 6755399441055744 // 1.5 * 2^52: adding and subtracting it rounds a double to even
const SUBNORMAL_SCALE = 2 ** 24

/**
 * Rounds every element of `f` to the nearest fp16 value (ties to even), in place: the result
 * matches `roundToHalf` from util/fp16 for every input, overflow included (±Infinity).
 */
export function roundHalfInPlace(f: Float32Array, start = 0, end = f.length): void {
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length)
  for (let i = start; i < end; i++) {
    const x = u[i]
    const a = x & 0x7fffffff
    if (a < 0x38800000) {
      // below 2^-14: fp16 subnormals are multiples of 2^-24
      const s = f[i] * SUBNORMAL_SCALE
      f[i] = (s + RINT - RINT) / SUBNORMAL_SCALE
    } else if (a < 0x477ff000) {
      // normal range: keep 10 mantissa bits, round half to even (a carry may bump the exponent)
      u[i] = (x + 0xfff + ((x >>> 13) & 1)) & 0xffffe000
    } else if (a < 0x7f800000) {
      u[i] = (x & 0x80000000) | 0x7f800000 // >= 65520 overflows to infinity
    }
  }
}

/** roundHalfInPlace on the native kernel (F16C where the CPU has it) for longer arrays. */
export function roundHalf(f: Float32Array): void {
  const k = nativeFor(f.length, 64)
  if (k) k.roundHalf(f, 0, f.length)
  else {
    noteJsWork()
    roundHalfInPlace(f)
  }
}

export interface NonFinite {
  /** Index of the first ±Infinity, or -1. */
  readonly inf: number
  /** Index of the first NaN, or -1. */
  readonly nan: number
}

/** Finds the first infinite and the first NaN element. */
export function scanNonFinite(f: Float32Array): NonFinite {
  let inf = -1
  let nan = -1
  for (let i = 0; i < f.length; i++) {
    const v = f[i]
    if (v - v !== 0) {
      if (v !== v) {
        if (nan < 0) nan = i
      } else if (inf < 0) inf = i
      if (inf >= 0 && nan >= 0) break
    }
  }
  return { inf, nan }
}
