// Sub-byte packing used by weight.bin blobs and inline TensorValue.bytes (coreml-format.md §4.4).
//
// Elements form one continuous little-endian bit stream: element i occupies stream bits
// [i·b, (i+1)·b), stream bit p is bit (p mod 8) of byte floor(p/8), element LSB first. So for
// 1/2/4-bit types the first element sits in the low bits of byte 0, and 3/6-bit elements may
// straddle two bytes. Unused high bits of the last byte are zero. Signed (int4) values are two's
// complement in b bits.
//
//   uint4 [1,2,3,4,5]  → 21 43 05
//   uint6 [1,2,3,63]   → 81 30 FC
//   int4  [-1,2,-8]    → 2F 08

import { UsageError } from '../util/errors.js'

/** Bytes needed to hold `count` elements of `bits` bits each. */
export function packedByteLength(count: number, bits: number): number {
  return Math.ceil((count * bits) / 8)
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) {
    throw new UsageError(`bit width must be an integer in 1..8, got ${bits}`)
  }
}

/** Throws naming the first element outside the b-bit range, if any. */
function checkRange(values: ArrayLike<number>, bits: number, signed: boolean): void {
  const lo = signed ? -(1 << (bits - 1)) : 0
  const hi = lo + (1 << bits) - 1
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if ((v | 0) !== v || v < lo || v > hi) {
      const type = `${signed ? 'int' : 'uint'}${bits}`
      throw new UsageError(`value ${v} at index ${i} is outside the ${type} range [${lo}, ${hi}]`)
    }
  }
}

/**
 * The values as a Uint8Array of their b-bit patterns (two's complement for signed), range-checked.
 * Unsigned Uint8Array input (the quantizer's output) is used as is, so the kernels below only
 * ever see one array type and stay fast.
 */
function toPatterns(values: ArrayLike<number>, bits: number, signed: boolean): Uint8Array {
  if (values instanceof Uint8Array && !signed) {
    let seen = 0
    for (let i = 0; i < values.length; i++) seen |= values[i]
    if (seen >> bits) checkRange(values, bits, signed)
    return values
  }
  checkRange(values, bits, signed)
  const mask = (1 << bits) - 1
  const out = new Uint8Array(values.length)
  for (let i = 0; i < values.length; i++) out[i] = values[i] & mask
  return out
}

// Pack kernels: `v` holds in-range b-bit patterns, `out` is zeroed and exactly long enough.
function pack4(v: Uint8Array, out: Uint8Array): void {
  const full = v.length >> 1
  for (let j = 0, i = 0; j < full; j++, i += 2) out[j] = v[i] | (v[i + 1] << 4)
  if (v.length & 1) out[full] = v[v.length - 1]
}

function pack2(v: Uint8Array, out: Uint8Array): void {
  const full = v.length >> 2
  for (let j = 0, i = 0; j < full; j++, i += 4) {
    out[j] = v[i] | (v[i + 1] << 2) | (v[i + 2] << 4) | (v[i + 3] << 6)
  }
  for (let i = full * 4, k = 0; i < v.length; i++, k += 2) out[full] |= v[i] << k
}

function pack1(v: Uint8Array, out: Uint8Array): void {
  const full = v.length >> 3
  for (let j = 0, i = 0; j < full; j++, i += 8) {
    out[j] =
      v[i] |
      (v[i + 1] << 1) |
      (v[i + 2] << 2) |
      (v[i + 3] << 3) |
      (v[i + 4] << 4) |
      (v[i + 5] << 5) |
      (v[i + 6] << 6) |
      (v[i + 7] << 7)
  }
  for (let i = full * 8, k = 0; i < v.length; i++, k++) out[full] |= v[i] << k
}

/** Any width (3/5/6/7 in practice): an accumulator flushed a byte at a time. */
function packAny(v: Uint8Array, bits: number, out: Uint8Array): void {
  let acc = 0
  let have = 0
  let j = 0
  for (let i = 0; i < v.length; i++) {
    acc |= v[i] << have
    have += bits
    while (have >= 8) {
      out[j++] = acc & 0xff
      acc >>>= 8
      have -= 8
    }
  }
  if (have > 0) out[j] = acc
}

/**
 * Packs integers into the LSB-first bit stream. `signed` means two's complement (int4).
 * Fastest with an unsigned Uint8Array of values.
 * @throws UsageError if a value is not an integer in range for the bit width
 * @example packBits([1, 2, 3, 4, 5], 4) // Uint8Array [0x21, 0x43, 0x05]
 */
export function packBits(values: ArrayLike<number>, bits: number, signed = false): Uint8Array {
  checkBits(bits)
  const v = toPatterns(values, bits, signed)
  if (bits === 8) return v === values ? v.slice() : v
  const out = new Uint8Array(packedByteLength(v.length, bits))
  if (bits === 4) pack4(v, out)
  else if (bits === 2) pack2(v, out)
  else if (bits === 1) pack1(v, out)
  else packAny(v, bits, out)
  return out
}

// Unpack kernels: `out` has exactly `count` elements and `bytes` is long enough.
function unpack4(bytes: Uint8Array, out: Uint8Array): void {
  const full = out.length >> 1
  for (let j = 0, i = 0; j < full; j++, i += 2) {
    const b = bytes[j]
    out[i] = b & 15
    out[i + 1] = b >> 4
  }
  if (out.length & 1) out[out.length - 1] = bytes[full] & 15
}

/** Widths that divide 8 (1, 2): whole elements per byte. */
function unpackDiv8(bytes: Uint8Array, bits: number, out: Uint8Array): void {
  const per = 8 / bits
  const mask = (1 << bits) - 1
  for (let i = 0; i < out.length; i++) {
    out[i] = (bytes[(i / per) | 0] >> ((i % per) * bits)) & mask
  }
}

function unpackAny(bytes: Uint8Array, bits: number, out: Uint8Array): void {
  const mask = (1 << bits) - 1
  let acc = 0
  let have = 0
  for (let i = 0, j = 0; i < out.length; i++) {
    while (have < bits) {
      acc |= bytes[j++] << have
      have += 8
    }
    out[i] = acc & mask
    acc >>>= bits
    have -= bits
  }
}

/**
 * Unpacks `count` elements from the LSB-first bit stream: Uint8Array for unsigned widths,
 * Int8Array (sign-extended) when `signed`.
 * @throws UsageError if `bytes` is shorter than ceil(count·bits/8)
 */
export function unpackBits(
  bytes: Uint8Array,
  bits: number,
  count: number,
  signed = false,
): Uint8Array | Int8Array {
  checkBits(bits)
  if (!Number.isInteger(count) || count < 0 || bytes.length < packedByteLength(count, bits)) {
    throw new UsageError(`cannot unpack ${count} ${bits}-bit values from ${bytes.length} bytes`)
  }
  const out = new Uint8Array(count)
  if (bits === 8) out.set(bytes.subarray(0, count))
  else if (bits === 4) unpack4(bytes, out)
  else if (8 % bits === 0) unpackDiv8(bytes, bits, out)
  else unpackAny(bytes, bits, out)
  if (!signed) return out
  // Sign-extend in place: shift the pattern's top bit to bit 31, then arithmetic-shift back.
  const s = new Int8Array(out.buffer)
  const ext = 32 - bits
  for (let i = 0; i < count; i++) s[i] = (out[i] << ext) >> ext
  return s
}
