// IEEE half (fp16) and bfloat16 <-> float32 conversion. fp16 tensors are stored as Uint16Array bit patterns.

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

// Decoding is a table lookup: 65536 floats (256 KiB), built once.
const HALF_TO_FLOAT = (() => {
  const t = new Float32Array(65536)
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1
    const e = (h >> 10) & 0x1f
    const m = h & 0x3ff
    if (e === 0) t[h] = s * m * 2 ** -24
    else if (e === 31) t[h] = m ? NaN : s * Infinity
    else t[h] = s * (1 + m / 1024) * 2 ** (e - 15)
  }
  return t
})()

export function halfToFloat(h: number): number {
  return HALF_TO_FLOAT[h & 0xffff]
}

/** float -> fp16 bits, round to nearest even; overflow gives ±Inf, NaN stays NaN. */
export function floatToHalf(v: number): number {
  f32[0] = v
  const x = u32[0]
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  let mant = x & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0)
  const e = exp - 127 + 15
  if (e >= 31) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign
    mant |= 0x800000
    const shift = 14 - e
    const half = 1 << (shift - 1)
    const rem = mant & ((1 << shift) - 1)
    let r = mant >>> shift
    if (rem > half || (rem === half && r & 1)) r++
    return sign | r
  }
  let r = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++
  return sign | r
}

export function halfsToFloats<T extends Float32Array = Float32Array<ArrayBuffer>>(
  src: Uint16Array,
  dst: T = new Float32Array(src.length) as T,
): T {
  for (let i = 0; i < src.length; i++) dst[i] = HALF_TO_FLOAT[src[i]]
  return dst
}

/**
 * float32 array → fp16 bits, round to nearest even, working on the raw bits (about 5× faster than
 * floatToHalf per element); the fp32 adder rounds subnormal results. Same results as floatToHalf.
 */
export function floatsToHalfs(
  src: ArrayLike<number>,
  dst = new Uint16Array(src.length),
  start = 0,
  end = src.length,
): Uint16Array {
  if (!(src instanceof Float32Array)) {
    for (let i = start; i < end; i++) dst[i] = floatToHalf(src[i])
    return dst
  }
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length)
  const tmp = new Float32Array(1)
  const tmpBits = new Uint32Array(tmp.buffer)
  // Adding 0.5 to a value below 2^-14 leaves the rounded fp16 subnormal mantissa in the low bits.
  const DENORM_MAGIC = ((127 - 15 + 23 - 10 + 1) << 23) >>> 0
  for (let i = start; i < end; i++) {
    const x = bits[i]
    const sign = (x >>> 16) & 0x8000
    const a = x & 0x7fffffff
    let h: number
    if (a >= 0x47800000) h = a > 0x7f800000 ? 0x7e00 : 0x7c00
    else if (a < 0x38800000) {
      tmpBits[0] = a
      tmp[0] += 0.5
      h = tmpBits[0] - DENORM_MAGIC
    } else h = (a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13
    dst[i] = h | sign
  }
  return dst
}

/** Rounds a float to the nearest fp16 value (as a float). */
export function roundToHalf(v: number): number {
  return HALF_TO_FLOAT[floatToHalf(v)]
}

export function bf16ToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16
  return f32[0]
}

/** float -> bf16 bits, round to nearest even. */
export function floatToBf16(v: number): number {
  f32[0] = v
  const x = u32[0]
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff
}
