// Fast float32 → fp16 conversion of whole arrays (the palettizer's input pass).

/**
 * float32 → fp16 bits, round to nearest even (same results as util's floatToHalf, ~5x faster):
 * works on the raw bits, with one float add for subnormal results.
 */
export function floatsToHalfBits(
  src: Float32Array,
  dst = new Uint16Array(src.length),
  start = 0,
  end = src.length,
): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length)
  const tmp = new Float32Array(1)
  const tmpBits = new Uint32Array(tmp.buffer)
  // 2^-1 as float bits: adding it to a value below 2^-14 leaves the rounded fp16 subnormal
  // mantissa in the low bits (the fp32 adder does the round-to-nearest-even).
  const DENORM_MAGIC = ((127 - 15 + 23 - 10 + 1) << 23) >>> 0
  for (let i = start; i < end; i++) {
    const x = bits[i]
    const sign = (x >>> 16) & 0x8000
    const a = x & 0x7fffffff
    let h: number
    if (a >= 0x47800000) {
      h = a > 0x7f800000 ? 0x7e00 : 0x7c00 // NaN stays NaN, overflow → Inf
    } else if (a < 0x38800000) {
      tmpBits[0] = a
      tmp[0] += 0.5
      h = tmpBits[0] - DENORM_MAGIC
    } else {
      h = (a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13
    }
    dst[i] = h | sign
  }
  return dst
}
