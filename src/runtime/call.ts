// The KernelCall handed to kernels: one object per planned op, rebound to that op's tensors on
// every execution (no per-run allocation besides the output buffers).
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

export class Call implements KernelCall {
  /** Tensors by parameter name (set before each execution). */
  args: Record<string, Tensor | Tensor[] | undefined> = {}
  inPlace = false
  env!: CallEnv

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
    return Array.from(t.data, Number)
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
    return t ? Array.from(t.data, (v) => v !== 0) : [...fallback]
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

  state(param: string): NumericTensor {
    const name = this.stateNames[param] ?? this.fail(`input '${param}' is not a state`)
    return this.env.state(name)
  }
}
