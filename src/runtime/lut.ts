// Palettized (LUT) weights kept compressed at run time: the packed indices of an iOS18
// constexpr_lut_to_dense plus its small lookup tables. conv 1×1 and linear read them a block of
// rows at a time (gemmNTRows), so a 4-bit weight takes 1/8 of its fp32 size in memory. Any other
// use sees `data`, the dense values, decoded on first access and kept.
import { PackedBits } from '../mil/value.js'
import type { RowSource } from './gemm.js'
import type { RuntimeDType } from './tensor.js'

/** A packed weight as the native lutGemm reads it. */
export interface NativeLutLayout {
  bytes: Uint8Array
  bits: number
  lut: Float32Array
  rowsPerGroup: number
}

export class LutWeight implements RowSource {
  readonly rows: number
  readonly cols: number
  readonly #bits: number
  readonly #bytes: Uint8Array
  readonly #lut: Float32Array
  readonly #entries: number
  /** Rows per LUT group along dim 0, and the LUT-group count of the other dims together. */
  readonly #rowsPerGroup: number
  readonly #colGroups: number
  /** Per flattened column, its LUT group among the other dims (absent when there is one). */
  readonly #colGroup?: Int32Array
  readonly #idx: Uint8Array
  #dense?: Float32Array

  constructor(
    readonly dtype: RuntimeDType,
    readonly shape: readonly number[],
    indices: PackedBits | Uint8Array,
    /** [g_0, …, g_{r-1}, entries, 1] flattened, already decoded to float */
    lut: Float32Array,
    lutShape: readonly number[],
  ) {
    const r = shape.length
    this.rows = shape[0]
    this.cols = shape.slice(1).reduce((a, b) => a * b, 1)
    this.#bits = indices instanceof PackedBits ? indices.bits : 8
    this.#bytes = indices instanceof PackedBits ? indices.bytes : indices
    this.#lut = lut
    this.#entries = lutShape[r]
    this.#rowsPerGroup = shape[0] / lutShape[0]
    const g = lutShape.slice(1, r)
    this.#colGroups = g.reduce((a, b) => a * b, 1)
    if (this.#colGroups > 1) {
      // column c = (c_1, …, c_{r-1}) falls in group Σ ⌊c_d / (d_d / g_d)⌋ · stride_d
      const dims = shape.slice(1)
      const map = new Int32Array(this.cols)
      for (let c = 0; c < this.cols; c++) {
        let rem = c
        let gi = 0
        let gs = 1
        for (let d = dims.length - 1; d >= 0; d--) {
          const coord = rem % dims[d]
          rem = Math.floor(rem / dims[d])
          gi += Math.floor(coord / (dims[d] / g[d])) * gs
          gs *= g[d]
        }
        map[c] = gi
      }
      this.#colGroup = map
    }
    this.#idx = new Uint8Array(this.cols)
  }

  /** Bytes held for this weight (packed indices and tables). */
  get bytes(): number {
    return this.#bytes.byteLength + this.#lut.byteLength
  }

  /** The dense values (decoded once, then kept). */
  get data(): Float32Array {
    if (!this.#dense) {
      const d = new Float32Array(this.rows * this.cols)
      for (let n = 0; n < this.rows; n += 8) {
        const count = Math.min(8, this.rows - n)
        this.readRows(n, count, d.subarray(n * this.cols, (n + count) * this.cols))
      }
      this.#dense = d
    }
    return this.#dense
  }

  readRows(n: number, count: number, dst: Float32Array): void {
    const cols = this.cols
    const E = this.#entries
    const idx = this.#idx
    for (let j = 0; j < count; j++) {
      const row = n + j
      this.#unpack(row * cols, idx)
      const base = Math.floor(row / this.#rowsPerGroup) * this.#colGroups * E
      const o = j * cols
      const lut = this.#lut
      const cg = this.#colGroup
      if (cg) for (let c = 0; c < cols; c++) dst[o + c] = lut[base + cg[c] * E + idx[c]]
      else for (let c = 0; c < cols; c++) dst[o + c] = lut[base + idx[c]]
    }
  }

  /** True when gemv4 applies: 4-bit indices, one table per row, an even row length. */
  get nibbleRows(): boolean {
    return this.#bits === 4 && !this.#colGroup && (this.cols & 1) === 0
  }

  /**
   * What the native lutGemm reads, when this weight fits it: one table of 2^bits entries per
   * group of output channels (every index then has an entry, whatever the file holds).
   */
  get nativeLayout(): NativeLutLayout | undefined {
    if (this.#layout === undefined) {
      const fits =
        !this.#colGroup && this.#entries === 1 << this.#bits && Number.isInteger(this.#rowsPerGroup)
      this.#layout = fits
        ? { bytes: this.#bytes, bits: this.#bits, lut: this.#lut, rowsPerGroup: this.#rowsPerGroup }
        : null
    }
    return this.#layout ?? undefined
  }

  #layout?: NativeLutLayout | null

  /**
   * A 6-bit weight's indices as one byte each, encoded for the native M = 1 kernel (lutBytes6),
   * made on first use: 1 byte per weight next to the packed 0.75, for a ~1.5× faster lookup.
   */
  get indexBytes6(): Uint8Array | undefined {
    if (this.#bits !== 6 || !this.nativeLayout) return undefined
    return (this.#bytes6 ??= lutBytes6(this.#bytes, this.rows * this.cols))
  }

  #bytes6?: Uint8Array

  /** True when gemv applies: one table per row (LUT groups along the output channels only). */
  get rowTables(): boolean {
    return !this.#colGroup
  }

  /**
   * Decode-time matrix·vector for any index width (needs rowTables): four rows are unpacked,
   * then summed against x through their tables in one pass, each in column order.
   */
  gemv(
    x: ArrayLike<number>,
    xOff: number,
    row0: number,
    count: number,
    out: { [i: number]: number },
    o: number,
    cs: number,
    bias?: ArrayLike<number>,
  ): void {
    if (this.nibbleRows) return this.gemv4(x, xOff, row0, count, out, o, cs, bias)
    const cols = this.cols
    const E = this.#entries
    const lut = this.#lut
    const idx = this.#rowIdx()
    for (let j = 0; j < count; j += 4) {
      const n = Math.min(4, count - j)
      for (let q = 0; q < n; q++) this.#unpack((row0 + j + q) * cols, idx[q])
      const t = [0, 1, 2, 3].map(
        (q) => Math.floor((row0 + j + Math.min(q, n - 1)) / this.#rowsPerGroup) * E,
      )
      const [i0, i1, i2, i3] = idx
      const [t0, t1, t2, t3] = t
      let s0 = 0
      let s1 = 0
      let s2 = 0
      let s3 = 0
      for (let c = 0; c < cols; c++) {
        const xv = x[xOff + c]
        s0 += xv * lut[t0 + i0[c]]
        s1 += xv * lut[t1 + i1[c]]
        s2 += xv * lut[t2 + i2[c]]
        s3 += xv * lut[t3 + i3[c]]
      }
      const sums = [s0, s1, s2, s3]
      for (let q = 0; q < n; q++) out[o + (j + q) * cs] = sums[q] + (bias ? bias[j + q] : 0)
    }
  }

  #rows?: Uint8Array[]
  #rowIdx(): Uint8Array[] {
    return (this.#rows ??= [0, 1, 2, 3].map(() => new Uint8Array(this.cols)))
  }

  /**
   * Decode-time matrix·vector straight from the packed nibbles (needs nibbleRows): out[o + j·cs]
   * = Σ_c x[xOff + c] · W[row0 + j, c] (+ bias[j]) for j < count, four rows per pass, each row
   * summed in column order (as the dense kernels do, so results match them exactly).
   */
  gemv4(
    x: ArrayLike<number>,
    xOff: number,
    row0: number,
    count: number,
    out: { [i: number]: number },
    o: number,
    cs: number,
    bias?: ArrayLike<number>,
  ): void {
    const half = this.cols >> 1
    const bytes = this.#bytes
    const lut = this.#lut
    const E = this.#entries
    const rpg = this.#rowsPerGroup
    let j = 0
    for (; j + 4 <= count; j += 4) {
      const r = row0 + j
      const p0 = r * half
      const p1 = p0 + half
      const p2 = p1 + half
      const p3 = p2 + half
      const t0 = Math.floor(r / rpg) * E
      const t1 = Math.floor((r + 1) / rpg) * E
      const t2 = Math.floor((r + 2) / rpg) * E
      const t3 = Math.floor((r + 3) / rpg) * E
      let s0 = 0
      let s1 = 0
      let s2 = 0
      let s3 = 0
      for (let i = 0; i < half; i++) {
        const xa = x[xOff + 2 * i]
        const xb = x[xOff + 2 * i + 1]
        let v = bytes[p0 + i]
        s0 += xa * lut[t0 + (v & 15)]
        s0 += xb * lut[t0 + (v >> 4)]
        v = bytes[p1 + i]
        s1 += xa * lut[t1 + (v & 15)]
        s1 += xb * lut[t1 + (v >> 4)]
        v = bytes[p2 + i]
        s2 += xa * lut[t2 + (v & 15)]
        s2 += xb * lut[t2 + (v >> 4)]
        v = bytes[p3 + i]
        s3 += xa * lut[t3 + (v & 15)]
        s3 += xb * lut[t3 + (v >> 4)]
      }
      out[o + j * cs] = s0 + (bias ? bias[j] : 0)
      out[o + (j + 1) * cs] = s1 + (bias ? bias[j + 1] : 0)
      out[o + (j + 2) * cs] = s2 + (bias ? bias[j + 2] : 0)
      out[o + (j + 3) * cs] = s3 + (bias ? bias[j + 3] : 0)
    }
    for (; j < count; j++) {
      const r = row0 + j
      const p = r * half
      const t = Math.floor(r / rpg) * E
      let s = 0
      for (let i = 0; i < half; i++) {
        const v = bytes[p + i]
        s += x[xOff + 2 * i] * lut[t + (v & 15)]
        s += x[xOff + 2 * i + 1] * lut[t + (v >> 4)]
      }
      out[o + j * cs] = s + (bias ? bias[j] : 0)
    }
  }

  /** Indices start .. start+cols-1 of the LSB-first bit stream into idx. */
  #unpack(start: number, idx: Uint8Array): void {
    const bytes = this.#bytes
    const n = idx.length
    const bits = this.#bits
    if (bits === 8) {
      idx.set(bytes.subarray(start, start + n))
      return
    }
    if (bits === 4 && (start & 1) === 0) {
      const b0 = start >> 1
      let i = 0
      for (; i + 1 < n; i += 2) {
        const v = bytes[b0 + (i >> 1)]
        idx[i] = v & 15
        idx[i + 1] = v >> 4
      }
      if (i < n) idx[i] = bytes[b0 + (i >> 1)] & 15
      return
    }
    let i0 = 0
    if (bits === 6 && (start & 3) === 0) {
      // four 6-bit indices in three bytes
      let b = (start * 6) >> 3
      for (; i0 + 4 <= n; i0 += 4, b += 3) {
        const x0 = bytes[b]
        const x1 = bytes[b + 1]
        const x2 = bytes[b + 2]
        idx[i0] = x0 & 63
        idx[i0 + 1] = (x0 >> 6) | ((x1 & 15) << 2)
        idx[i0 + 2] = (x1 >> 4) | ((x2 & 3) << 4)
        idx[i0 + 3] = x2 >> 2
      }
    }
    const mask = (1 << bits) - 1
    let p = (start + i0) * bits
    for (let i = i0; i < n; i++, p += bits) {
      const byte = p >> 3
      const shift = p & 7
      let v = bytes[byte] >> shift
      if (shift + bits > 8) v |= bytes[byte + 1] << (8 - shift)
      idx[i] = v & mask
    }
  }
}

/**
 * 6-bit indices packed LSB-first, as bytes b = (i & 15) | bit 4 of i at bit 7 | bit 5 at bit 6:
 * vpshufb reads the low 4 bits and zeroes a lane whose bit 7 is set, so b and b ^ 0x80 look up
 * the two 16-entry quarters a 32-entry half of the table holds (native/kernels/avx2.c dot6b).
 */
export function lutBytes6(packed: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count)
  const enc = (i: number) => (i & 15) | ((i & 16) << 3) | ((i & 32) << 1)
  let p = 0
  let o = 0
  // four indices in each three bytes
  for (; o + 4 <= count; o += 4, p += 3) {
    const v = packed[p] | (packed[p + 1] << 8) | (packed[p + 2] << 16)
    out[o] = enc(v & 63)
    out[o + 1] = enc((v >> 6) & 63)
    out[o + 2] = enc((v >> 12) & 63)
    out[o + 3] = enc((v >> 18) & 63)
  }
  for (; o < count; o++) {
    const bit = o * 6
    const v = (packed[bit >> 3] | ((packed[(bit >> 3) + 1] ?? 0) << 8)) >> (bit & 7)
    out[o] = enc(v & 63)
  }
  return out
}
