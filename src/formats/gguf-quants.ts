// GGML tensor types: one row per type (block size, bytes per block, dequantizer), as in ggml's type
// traits table. Every type GGUF files may carry is listed so sizes can be checked and reported;
// only the rows with a `dequant` can be converted to f32.
//
// Arithmetic follows gguf-py's `gguf.quants` (float32 at each step, fp16 scales widened first), so
// results are bit-identical to `gguf.quants.dequantize`. JS computes in float64, so each
// intermediate float32 product is rounded with Math.fround; the last step rounds on store.

import { halfToFloat } from '../util/fp16.js'

/** Converts `src` (a whole number of blocks) to floats: `dst.length` = blocks × blockSize. */
export type Dequantizer = (src: Uint8Array, dst: Float32Array) => void

/** One GGML type: `blockSize` elements are stored in `typeSize` bytes. */
export interface GgmlType {
  id: number
  name: string
  blockSize: number
  typeSize: number
  dequant?: Dequantizer
}

const fr = Math.fround
const QK_K = 256

/** Little-endian fp16 at byte `o`, widened to float. */
const f16 = (b: Uint8Array, o: number): number => halfToFloat(b[o] | (b[o + 1] << 8))

function forBlocks(src: Uint8Array, dst: Float32Array, typeSize: number, blockSize: number) {
  const n = dst.length / blockSize
  if (!Number.isInteger(n) || src.length < n * typeSize) {
    throw new RangeError(`dequant: ${src.length} bytes do not hold ${dst.length} elements`)
  }
  return n
}

/** `src` as 16-bit words (copied once if misaligned; the host is little-endian). */
const words = (src: Uint8Array, n: number): Uint16Array =>
  src.byteOffset % 2 === 0
    ? new Uint16Array(src.buffer, src.byteOffset, n)
    : new Uint16Array(src.slice(0, n * 2).buffer)

// F32: 4 bytes little-endian per element.
const dequantF32: Dequantizer = (src, dst) => {
  forBlocks(src, dst, 4, 1)
  const bytes = src.byteOffset % 4 === 0 ? src : src.slice(0, dst.length * 4)
  dst.set(new Float32Array(bytes.buffer, bytes.byteOffset, dst.length))
}

// F16: 2 bytes (IEEE half) per element.
const dequantF16: Dequantizer = (src, dst) => {
  forBlocks(src, dst, 2, 1)
  const w = words(src, dst.length)
  for (let i = 0; i < dst.length; i++) dst[i] = halfToFloat(w[i])
}

// BF16: 2 bytes per element, the top half of a float32 (a shift is exact).
const dequantBF16: Dequantizer = (src, dst) => {
  forBlocks(src, dst, 2, 1)
  const w = words(src, dst.length)
  const bits = new Int32Array(dst.buffer, dst.byteOffset, dst.length)
  for (let i = 0; i < dst.length; i++) bits[i] = w[i] << 16
}

// Q8_0: 32 elements in 34 bytes: d (f16) | qs[32] (int8). x = d * q.
const dequantQ8_0: Dequantizer = (src, dst) => {
  const n = forBlocks(src, dst, 34, 32)
  for (let b = 0; b < n; b++) {
    const o = b * 34
    const d = f16(src, o)
    for (let j = 0; j < 32; j++) dst[b * 32 + j] = d * ((src[o + 2 + j] << 24) >> 24)
  }
}

// Q4_0: 32 elements in 18 bytes: d (f16) | qs[16]. Element j is the low nibble of qs[j],
// element j+16 the high nibble. x = d * (q - 8).
const dequantQ4_0: Dequantizer = (src, dst) => {
  const n = forBlocks(src, dst, 18, 32)
  for (let b = 0; b < n; b++) {
    const o = b * 18
    const d = f16(src, o)
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]
      dst[b * 32 + j] = d * ((q & 15) - 8)
      dst[b * 32 + j + 16] = d * ((q >> 4) - 8)
    }
  }
}

// Q4_1: 32 elements in 20 bytes: d (f16) | m (f16) | qs[16] (nibbles as Q4_0). x = d * q + m.
const dequantQ4_1: Dequantizer = (src, dst) => {
  const n = forBlocks(src, dst, 20, 32)
  for (let b = 0; b < n; b++) {
    const o = b * 20
    const d = f16(src, o)
    const m = f16(src, o + 2)
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j]
      dst[b * 32 + j] = fr(d * (q & 15)) + m
      dst[b * 32 + j + 16] = fr(d * (q >> 4)) + m
    }
  }
}

// Q5_0: 32 elements in 22 bytes: d (f16) | qh (u32 LE: bit i is bit 4 of element i) | qs[16]
// (low 4 bits, nibbles as Q4_0). x = d * (q - 16).
const dequantQ5_0: Dequantizer = (src, dst) => {
  const n = forBlocks(src, dst, 22, 32)
  for (let b = 0; b < n; b++) {
    const o = b * 22
    const d = f16(src, o)
    const qh = src[o + 2] | (src[o + 3] << 8) | (src[o + 4] << 16) | (src[o + 5] << 24)
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j]
      dst[b * 32 + j] = d * ((q & 15) + (((qh >>> j) & 1) << 4) - 16)
      dst[b * 32 + j + 16] = d * ((q >> 4) + (((qh >>> (j + 16)) & 1) << 4) - 16)
    }
  }
}

// Q5_1: 32 elements in 24 bytes: d (f16) | m (f16) | qh (u32 LE) | qs[16], bits as Q5_0.
// x = d * q + m.
const dequantQ5_1: Dequantizer = (src, dst) => {
  const n = forBlocks(src, dst, 24, 32)
  for (let b = 0; b < n; b++) {
    const o = b * 24
    const d = f16(src, o)
    const m = f16(src, o + 2)
    const qh = src[o + 4] | (src[o + 5] << 8) | (src[o + 6] << 16) | (src[o + 7] << 24)
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j]
      dst[b * 32 + j] = fr(d * ((q & 15) | (((qh >>> j) & 1) << 4))) + m
      dst[b * 32 + j + 16] = fr(d * ((q >> 4) | (((qh >>> (j + 16)) & 1) << 4))) + m
    }
  }
}

/**
 * The 12 packed bytes of Q4_K/Q5_K hold 8 six-bit scales and 8 six-bit mins:
 * bytes 0-3 low 6 bits = scale 0-3, bytes 4-7 low 6 bits = min 0-3, bytes 8-11 low nibble =
 * low bits of scale 4-7 and high nibble = low bits of min 4-7; the top 2 bits of bytes 0-3 (4-7)
 * are the high bits of scale (min) 4-7.
 */
function unpackScaleMin(src: Uint8Array, o: number, sc: Uint8Array, mn: Uint8Array): void {
  for (let j = 0; j < 4; j++) {
    sc[j] = src[o + j] & 63
    mn[j] = src[o + j + 4] & 63
    sc[j + 4] = (src[o + j + 8] & 15) | ((src[o + j] >> 6) << 4)
    mn[j + 4] = (src[o + j + 8] >> 4) | ((src[o + j + 4] >> 6) << 4)
  }
}

// Q4_K: 256 elements in 144 bytes: d (f16) | dmin (f16) | scales[12] | qs[128]. Eight sub-blocks
// of 32; sub-block 2c takes the low nibbles of qs[32c..32c+31], sub-block 2c+1 the high nibbles.
// x = (d * sc) * q - dmin * mn.
const dequantQ4_K: Dequantizer = (src, dst) => {
  const n = forBlocks(src, dst, 144, QK_K)
  const sc = new Uint8Array(8)
  const mn = new Uint8Array(8)
  for (let b = 0; b < n; b++) {
    const o = b * 144
    const d = f16(src, o)
    const dmin = f16(src, o + 2)
    unpackScaleMin(src, o + 4, sc, mn)
    for (let s = 0; s < 8; s++) {
      const ds = fr(d * sc[s])
      const dm = fr(dmin * mn[s])
      const q0 = o + 16 + (s >> 1) * 32
      const shift = (s & 1) * 4
      const out = b * QK_K + s * 32
      for (let l = 0; l < 32; l++) dst[out + l] = fr(ds * ((src[q0 + l] >> shift) & 15)) - dm
    }
  }
}

// Q5_K: 256 elements in 176 bytes: d (f16) | dmin (f16) | scales[12] | qh[32] | qs[128]. Low
// nibbles as Q4_K; bit s of qh[l] is bit 4 of element l of sub-block s. x = (d * sc) * q - dmin * mn.
const dequantQ5_K: Dequantizer = (src, dst) => {
  const n = forBlocks(src, dst, 176, QK_K)
  const sc = new Uint8Array(8)
  const mn = new Uint8Array(8)
  for (let b = 0; b < n; b++) {
    const o = b * 176
    const d = f16(src, o)
    const dmin = f16(src, o + 2)
    unpackScaleMin(src, o + 4, sc, mn)
    for (let s = 0; s < 8; s++) {
      const ds = fr(d * sc[s])
      const dm = fr(dmin * mn[s])
      const q0 = o + 48 + (s >> 1) * 32
      const shift = (s & 1) * 4
      const out = b * QK_K + s * 32
      for (let l = 0; l < 32; l++) {
        const q = ((src[q0 + l] >> shift) & 15) | (((src[o + 16 + l] >> s) & 1) << 4)
        dst[out + l] = fr(ds * q) - dm
      }
    }
  }
}

// Q6_K: 256 elements in 210 bytes: ql[128] | qh[64] | scales[16] (int8) | d (f16). Two halves of
// 128; in half h, element r takes low 4 bits from ql[64h + (r & 63)] (low nibble if r < 64, else
// high) and bits 4-5 from qh[32h + (r & 31)] >> 2*(r >> 5). x = (d * scale[e / 16]) * (q - 32).
const dequantQ6_K: Dequantizer = (src, dst) => {
  const n = forBlocks(src, dst, 210, QK_K)
  const ds = new Float64Array(16)
  for (let b = 0; b < n; b++) {
    const o = b * 210
    const d = f16(src, o + 208)
    for (let i = 0; i < 16; i++) ds[i] = fr(d * ((src[o + 192 + i] << 24) >> 24))
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h
      const qh = o + 128 + 32 * h
      const y = b * QK_K + 128 * h
      // Each l yields elements l, l+32, l+64, l+96 of the half (see the layout above).
      for (let l = 0; l < 32; l++) {
        const s = 8 * h + (l >> 4)
        const a = src[ql + l]
        const c = src[ql + l + 32]
        const t = src[qh + l]
        dst[y + l] = ds[s] * (((a & 15) | ((t & 3) << 4)) - 32)
        dst[y + l + 32] = ds[s + 2] * (((c & 15) | (((t >> 2) & 3) << 4)) - 32)
        dst[y + l + 64] = ds[s + 4] * (((a >> 4) | (((t >> 4) & 3) << 4)) - 32)
        dst[y + l + 96] = ds[s + 6] * (((c >> 4) | ((t >> 6) << 4)) - 32)
      }
    }
  }
}

const ROWS: GgmlType[] = [
  { id: 0, name: 'F32', blockSize: 1, typeSize: 4, dequant: dequantF32 },
  { id: 1, name: 'F16', blockSize: 1, typeSize: 2, dequant: dequantF16 },
  { id: 2, name: 'Q4_0', blockSize: 32, typeSize: 18, dequant: dequantQ4_0 },
  { id: 3, name: 'Q4_1', blockSize: 32, typeSize: 20, dequant: dequantQ4_1 },
  { id: 6, name: 'Q5_0', blockSize: 32, typeSize: 22, dequant: dequantQ5_0 },
  { id: 7, name: 'Q5_1', blockSize: 32, typeSize: 24, dequant: dequantQ5_1 },
  { id: 8, name: 'Q8_0', blockSize: 32, typeSize: 34, dequant: dequantQ8_0 },
  { id: 9, name: 'Q8_1', blockSize: 32, typeSize: 40 },
  { id: 10, name: 'Q2_K', blockSize: QK_K, typeSize: 84 },
  { id: 11, name: 'Q3_K', blockSize: QK_K, typeSize: 110 },
  { id: 12, name: 'Q4_K', blockSize: QK_K, typeSize: 144, dequant: dequantQ4_K },
  { id: 13, name: 'Q5_K', blockSize: QK_K, typeSize: 176, dequant: dequantQ5_K },
  { id: 14, name: 'Q6_K', blockSize: QK_K, typeSize: 210, dequant: dequantQ6_K },
  { id: 15, name: 'Q8_K', blockSize: QK_K, typeSize: 292 },
  { id: 16, name: 'IQ2_XXS', blockSize: QK_K, typeSize: 66 },
  { id: 17, name: 'IQ2_XS', blockSize: QK_K, typeSize: 74 },
  { id: 18, name: 'IQ3_XXS', blockSize: QK_K, typeSize: 98 },
  { id: 19, name: 'IQ1_S', blockSize: QK_K, typeSize: 50 },
  { id: 20, name: 'IQ4_NL', blockSize: 32, typeSize: 18 },
  { id: 21, name: 'IQ3_S', blockSize: QK_K, typeSize: 110 },
  { id: 22, name: 'IQ2_S', blockSize: QK_K, typeSize: 82 },
  { id: 23, name: 'IQ4_XS', blockSize: QK_K, typeSize: 136 },
  { id: 24, name: 'I8', blockSize: 1, typeSize: 1 },
  { id: 25, name: 'I16', blockSize: 1, typeSize: 2 },
  { id: 26, name: 'I32', blockSize: 1, typeSize: 4 },
  { id: 27, name: 'I64', blockSize: 1, typeSize: 8 },
  { id: 28, name: 'F64', blockSize: 1, typeSize: 8 },
  { id: 29, name: 'IQ1_M', blockSize: QK_K, typeSize: 56 },
  { id: 30, name: 'BF16', blockSize: 1, typeSize: 2, dequant: dequantBF16 },
  { id: 34, name: 'TQ1_0', blockSize: QK_K, typeSize: 54 },
  { id: 35, name: 'TQ2_0', blockSize: QK_K, typeSize: 66 },
  { id: 39, name: 'MXFP4', blockSize: 32, typeSize: 17 },
  { id: 40, name: 'NVFP4', blockSize: 64, typeSize: 36 },
  { id: 41, name: 'Q1_0', blockSize: 128, typeSize: 18 },
]

/** Every known GGML type by id. */
export const GGML_TYPES: ReadonlyMap<number, GgmlType> = new Map(ROWS.map((r) => [r.id, r]))

/** Names of the types we can dequantize, for error messages. */
export const DEQUANT_TYPE_NAMES: readonly string[] = ROWS.filter((r) => r.dequant).map(
  (r) => r.name,
)

/** The type with this name (`'Q4_K'`), or undefined. */
export function ggmlTypeByName(name: string): GgmlType | undefined {
  return ROWS.find((r) => r.name === name)
}
