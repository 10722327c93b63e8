// States (KV caches) live outside any one function: a State holds one tensor per state name, and
// every function of every model that declares a state of that name, dtype and shape can run with
// it (ANEMLL's infer and prefill functions, or separate FFN chunk models, share one KV cache).
import { UsageError } from '../util/errors.js'
import { makeTensor, shapeText, type NumericTensor, type RuntimeDType } from './tensor.js'

export interface StateDecl {
  readonly name: string
  readonly dtype: RuntimeDType
  readonly shape: readonly number[]
}

export class State {
  readonly #tensors = new Map<string, NumericTensor>()

  /** Adds a zero-filled tensor for `decl`, or checks that the existing one matches it. */
  declare(decl: StateDecl): void {
    const t = this.#tensors.get(decl.name)
    if (!t) {
      this.#tensors.set(decl.name, makeTensor(decl.dtype, decl.shape) as NumericTensor)
      return
    }
    if (t.dtype !== decl.dtype || t.shape.join() !== decl.shape.join())
      throw new UsageError(
        `state '${decl.name}' is ${t.dtype} ${shapeText(t.shape)}, but a function declares it as ${decl.dtype} ${shapeText(decl.shape)}`,
      )
  }

  /** The live tensor of a state (writes by run() are visible here). */
  get(name: string): NumericTensor {
    const t = this.#tensors.get(name)
    if (!t)
      throw new UsageError(
        `state '${name}' is missing (states: ${this.names().join(', ') || 'none'})`,
      )
    return t
  }

  has(name: string): boolean {
    return this.#tensors.has(name)
  }

  names(): string[] {
    return [...this.#tensors.keys()]
  }

  /** Zeroes every state (a new conversation). */
  reset(): void {
    for (const t of this.#tensors.values()) t.data.fill(0)
  }
}
