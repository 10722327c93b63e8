// The KernelCall handed to kernels: one object per planned op, rebound to that op's tensors on
// every execution (no per-run allocation besides the output buffers). It also keeps the kernel's
// memo: plans derived from input shapes, recomputed only when a shape or parameter changes.
import type { Operation } from '../mil/program.js'
import { ExecError, type KernelCall } from './kernel.js'
import type { NumericTensor, RuntimeDType, Tensor } from './tensor.js'
import { numel, shapeText } from './tensor.js'

/** Where a call's outputs and scratch space come from. */
export interface CallEnv {
  alloc(dtype: RuntimeDType, n: number): NumericTensor['data']
  scratch(n: number, slot: number): Float32Array
  state(name: string): NumericTensor
}

const NONE: ReadonlySet<string> = new Set()

export class Call implements KernelCall {
  /** Tensors by parameter name (set before each execution). */
  args: Record<string, Tensor | Tensor[] | undefined> = {}
  inPlace = false
  env!: CallEnv
  /** Parameters bound to the same constant on every run (set by the planner): the memo skips them. */
  constParams: ReadonlySet<string> = NONE
  // The memo: the value, its key (shapes, then values of value-keyed params, flattened in
  // parameter order), and which params make the key (rebuilt when args or shapeOnly change).
  #value: unknown
  readonly #key: unknown[] = []
  /** Entries of #key in use; -1 while nothing is memoized. */
  #keyLen = -1
  #pos = 0
  #hit = false
  #specArgs: object | undefined
  #specShapeOnly: readonly string[] | undefined
  #specParams: string[] = []
  #specByValue: boolean[] = []

  constructor(
    readonly op: Operation,
    readonly varName: string,
    readonly outDTypes: readonly RuntimeDType[],
    /** Parameter → state name, for state ops. */
    readonly stateNames: Readonly<Record<string, string>>,
  ) {}

  fail(msg: string): never {
    throw new ExecError(`${this.op.type} '${this.varName}': ${msg}`)
  }

  opt(param: string): NumericTensor | undefined {
    const a = this.args[param]
    const t = Array.isArray(a) ? a[0] : a
    if (t && t.dtype === 'string') this.fail(`input '${param}' is a string`)
    return t as NumericTensor | undefined
  }

  in(param: string): NumericTensor {
    return this.opt(param) ?? this.fail(`missing input '${param}'`)
  }

  list(param: string): NumericTensor[] {
    const a = this.args[param]
    if (a === undefined) return []
    return (Array.isArray(a) ? a : [a]) as NumericTensor[]
  }

  ints(param: string, fallback?: readonly number[]): number[] {
    const t = this.opt(param)
    if (!t) return fallback ? [...fallback] : this.fail(`missing input '${param}'`)
    const d = t.data
    const out = new Array<number>(d.length)
    for (let i = 0; i < d.length; i++) out[i] = d[i]
    return out
  }

  int(param: string, fallback?: number): number {
    const t = this.opt(param)
    if (!t) return fallback ?? this.fail(`missing input '${param}'`)
    if (t.data.length !== 1)
      this.fail(`input '${param}' must be a scalar, got ${shapeText(t.shape)}`)
    return Number(t.data[0])
  }

  float(param: string, fallback?: number): number {
    return this.int(param, fallback)
  }

  bool(param: string, fallback: boolean): boolean {
    return this.opt(param) ? this.int(param) !== 0 : fallback
  }

  bools(param: string, fallback: readonly boolean[]): boolean[] {
    const t = this.opt(param)
    if (!t) return [...fallback]
    const d = t.data
    const out = new Array<boolean>(d.length)
    for (let i = 0; i < d.length; i++) out[i] = d[i] !== 0
    return out
  }

  str(param: string, fallback?: string): string {
    const a = this.args[param]
    const t = Array.isArray(a) ? a[0] : a
    if (!t) return fallback ?? this.fail(`missing input '${param}'`)
    if (t.dtype !== 'string') this.fail(`input '${param}' must be a string`)
    return (t.data as string[])[0]
  }

  outDType(i = 0): RuntimeDType {
    return this.outDTypes[i]
  }

  alloc(dtype: RuntimeDType, shape: readonly number[]): NumericTensor {
    if (dtype === 'string') this.fail('cannot allocate a string tensor')
    return { dtype, shape: [...shape], data: this.env.alloc(dtype, numel(shape)) }
  }

  zeros(dtype: RuntimeDType, shape: readonly number[]): NumericTensor {
    const t = this.alloc(dtype, shape)
    t.data.fill(0)
    return t
  }

  scratch(n: number, slot = 0): Float32Array {
    return this.env.scratch(n, slot)
  }

  memo<T>(shapeOnly: readonly string[], make: () => T): T {
    const args = this.args
    if (this.#specArgs !== args || this.#specShapeOnly !== shapeOnly) {
      this.#specParams = Object.keys(args).filter((p) => !this.constParams.has(p))
      this.#specByValue = this.#specParams.map((p) => !shapeOnly.includes(p))
      this.#specArgs = args
      this.#specShapeOnly = shapeOnly
      this.#keyLen = -1
    }
    const params = this.#specParams
    const byValue = this.#specByValue
    this.#pos = 0
    this.#hit = this.#keyLen >= 0
    for (let j = 0; j < params.length; j++) {
      const a = args[params[j]]
      if (a === undefined) this.#put(-1)
      else if (Array.isArray(a)) {
        this.#put(-2)
        this.#put(a.length)
        for (let i = 0; i < a.length; i++) this.#putTensor(a[i], byValue[j])
      } else this.#putTensor(a, byValue[j])
    }
    if (this.#hit && this.#pos === this.#keyLen) return this.#value as T
    this.#keyLen = -1 // stays unset if make() throws
    const v = make()
    this.#value = v
    this.#key.length = this.#pos
    this.#keyLen = this.#pos
    return v
  }

  #putTensor(t: Tensor, byValue: boolean) {
    const s = t.shape
    this.#put(s.length)
    for (let i = 0; i < s.length; i++) this.#put(s[i])
    if (!byValue) return
    const d = t.data
    for (let i = 0; i < d.length; i++) this.#put(d[i])
  }

  /** Compares the next key entry while it still matches, overwrites it from the first mismatch. */
  #put(v: unknown) {
    const pos = this.#pos++
    if (this.#hit) {
      if (pos < this.#keyLen && this.#key[pos] === v) return
      this.#hit = false
    }
    this.#key[pos] = v
  }

  state(param: string): NumericTensor {
    const name = this.stateNames[param] ?? this.fail(`input '${param}' is not a state`)
    return this.env.state(name)
  }
}
