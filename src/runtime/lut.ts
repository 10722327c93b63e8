// Palettized (LUT) weights kept compressed at run time: the packed indices of an iOS18
// constexpr_lut_to_dense plus its small lookup tables. conv 1×1 and linear read them a block of
// rows at a time (gemmNTRows), so a 4-bit weight takes 1/8 of its fp32 size in memory. Any other
// use sees `data`, the dense values, decoded on first access and kept.
import { PackedBits } from '../mil/value.js'
import type { RowSource } from './gemm.js'
import type { RuntimeDType } from './tensor.js'

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
    const mask = (1 << bits) - 1
    let p = start * bits
    for (let i = 0; i < n; i++, p += bits) {
      const byte = p >> 3
      const shift = p & 7
      let v = bytes[byte] >> shift
      if (shift + bits > 8) v |= bytes[byte + 1] << (8 - shift)
      idx[i] = v & mask
    }
  }
}
