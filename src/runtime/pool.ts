// Reusable output buffers. A buffer goes back to the pool when the last var using it dies (the
// executor counts references per ArrayBuffer, so views and subarrays count too), and is handed
// out again to a later op of the same or a later run that needs the same storage type and length.
import { storageOf, type NumericData, type RuntimeDType } from './tensor.js'

type Ctor = ReturnType<typeof storageOf>

export class BufferPool {
  /** Free buffers by storage type, then by length (no string keys on the hot path). */
  readonly #free = new Map<Ctor, Map<number, NumericData[]>>()
  /** Buffer → the array this pool made over it. */
  readonly #owners = new WeakMap<object, NumericData>()

  /** Fill reused buffers with NaN/garbage so kernels that forget to write an element show up. */
  constructor(readonly poison = false) {}

  get(dtype: Exclude<RuntimeDType, 'string'>, n: number): NumericData {
    const ctor = storageOf(dtype)
    const reused = this.#free.get(ctor)?.get(n)?.pop()
    if (reused) {
      if (this.poison) reused.fill(reused instanceof Float32Array ? NaN : 0x5a)
      return reused
    }
    const d = new ctor(n)
    this.#owners.set(d.buffer, d)
    return d
  }

  /** True for arrays this pool made (never inputs, constants, states or views). */
  owns(d: object): boolean {
    return this.#owners.get((d as NumericData).buffer) === d
  }

  /** The pool's array over `buffer`, if the pool made it. */
  ownerOf(buffer: object): NumericData | undefined {
    return this.#owners.get(buffer)
  }

  put(d: NumericData): void {
    const ctor = d.constructor as Ctor
    let byLength = this.#free.get(ctor)
    if (!byLength) this.#free.set(ctor, (byLength = new Map()))
    const list = byLength.get(d.length)
    if (list) list.push(d)
    else byLength.set(d.length, [d])
  }

  /** The buffer leaves the pool for good (handed to the caller as an output). */
  disown(d: NumericData): void {
    this.#owners.delete(d.buffer)
  }
}
