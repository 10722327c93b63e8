// Large fp16 weights kept as the fp16 bits the file stores: conv 1×1 and linear read them through
// the native hgemm (converting 8 at a time), so an fp16 model takes 2 bytes per weight in memory
// and in bandwidth, as on the Neural Engine. Any other use sees `data`, the float values,
// decoded on first access and kept.
import { halfsToFloats } from '../util/fp16.js'

/** Weights at least this large (elements) stay fp16: tables and norms are decoded at once. */
export const HALF_WEIGHT_MIN = 1 << 16

export class HalfWeight {
  readonly dtype = 'fp16' as const
  #dense?: Float32Array

  constructor(
    readonly shape: readonly number[],
    /** The fp16 bit patterns, row-major. */
    readonly bits: Uint16Array,
  ) {}

  /** The float values (decoded once, then kept). */
  get data(): Float32Array {
    return (this.#dense ??= halfsToFloats(this.bits))
  }

  /** Bytes held for this weight. */
  get bytes(): number {
    return this.bits.byteLength + (this.#dense?.byteLength ?? 0)
  }
}
