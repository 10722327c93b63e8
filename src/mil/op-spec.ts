// How an op is declared: one typed spec per op (inputs with type domains, const-ness, defaults,
// type inference). The builder's methods, the proto writer/reader and the printer all read specs.
import { AnemllError } from '../util/errors.js'
import { isConstProducer, tensorTypeOf, type Var } from './program.js'
import {
  shapeToString,
  type Dim,
  type DType,
  type Opset,
  type TensorType,
  type ValueType,
} from './types.js'
import { materialize, toNumbers, type TensorValue } from './value.js'

/** A type or shape error found while building or loading a graph. */
export class MilTypeError extends AnemllError {
  override name = 'MilTypeError'
}

/** What the builder accepts in place of a var: it becomes a `const` op. */
export type Literal =
  number | boolean | string | readonly number[] | readonly boolean[] | TensorValue

export interface InputDecl {
  /** Type domain: a key of the op's `domains` table; inputs sharing a domain share a dtype. */
  readonly domain: string
  readonly optional?: boolean
  /** Must be a compile-time constant (output of `const` or of a constexpr op). */
  readonly const?: boolean
  /** A tuple parameter (concat.values): one or more vars. */
  readonly variadic?: boolean
  /** A state var (read_state.input). */
  readonly state?: boolean
  /** May be a list var (list_read.ls, while_loop.loop_vars); list vars skip the dtype domain. */
  readonly list?: boolean
  /** Materialised as a const op when omitted, as coremltools does for non-None defaults. */
  readonly default?: (ctx: InferCtx) => Literal
}

export interface OpSpec {
  readonly type: string
  /** First opset with this definition; a newer spec of the same type supersedes it from its own `since`. */
  readonly since: Opset
  readonly domains: Readonly<Record<string, readonly DType[]>>
  readonly inputs: Readonly<Record<string, InputDecl>>
  readonly multiOutput?: boolean
  /** Ops with no outputs (write_state). */
  readonly noOutput?: boolean
  /** constexpr_* ops: all inputs constant, the output is a constant too. */
  readonly constexpr?: boolean
  /** iOS16-era constexpr ops serialize their parameters as attributes, not inputs (format doc §5.4). */
  readonly attributeStyle?: boolean
  /** Builder-only ops that the proto writer lowers (coreml_update_state). */
  readonly dialect?: boolean
  infer(ctx: InferCtx): ValueType[]
}

/** Declares an op; `const` keeps the literal input declarations so builder methods are typed. */
export const defineOp = <const S extends OpSpec>(spec: S): S => spec

type ArgOf<D> = D extends { variadic: true }
  ? readonly (Var | Literal)[]
  : D extends { state: true }
    ? Var
    : Var | Literal
type RequiredKeys<I> = { [K in keyof I]: I[K] extends { optional: true } ? never : K }[keyof I]
type OptionalKeys<I> = Exclude<keyof I, RequiredKeys<I>>

/** The argument object of a builder method, derived from the op's spec. */
export type OpArgs<S extends OpSpec> = {
  [K in RequiredKeys<S['inputs']>]: ArgOf<S['inputs'][K]>
} & {
  [K in OptionalKeys<S['inputs']>]?: ArgOf<S['inputs'][K]>
}
export type OpResult<S extends OpSpec> = S extends { multiOutput: true }
  ? Var[]
  : S extends { noOutput: true }
    ? void
    : Var

/** A var is constant when a `const` or constexpr op produced it. */
export function isConstVar(v: Var, isConstexpr: (type: string) => boolean): boolean {
  const p = v.producer
  return !!p && (p.type === 'const' || isConstexpr(p.type))
}

/** Read-only view of an op's bound inputs during type inference. */
export class InferCtx {
  constructor(
    readonly spec: OpSpec,
    readonly opName: string,
    readonly args: Readonly<Record<string, Var | readonly Var[] | undefined>>,
  ) {}

  fail(msg: string): never {
    throw new MilTypeError(`${this.spec.type} '${this.opName}': ${msg}`)
  }

  has(p: string): boolean {
    return this.args[p] !== undefined
  }

  var(p: string): Var {
    const a = this.args[p]
    if (a === undefined) this.fail(`missing input '${p}'`)
    if (Array.isArray(a)) this.fail(`input '${p}' is not variadic`)
    return a as Var
  }

  vars(p: string): readonly Var[] {
    const a = this.args[p]
    if (a === undefined) return []
    return Array.isArray(a) ? a : [a as Var]
  }

  tensor(p: string): TensorType {
    const v = this.var(p)
    if (v.type.kind !== 'tensor') this.fail(`input '${p}' must be a tensor, got ${v.type.kind}`)
    return tensorTypeOf(v)
  }

  shape(p: string): readonly Dim[] {
    return this.tensor(p).shape
  }

  rank(p: string): number {
    return this.shape(p).length
  }

  dtype(p: string): DType {
    return this.tensor(p).dtype
  }

  /** True when the input is produced by `const` or a constexpr op. */
  isConst(p: string): boolean {
    return isConstProducer(this.var(p).producer)
  }

  /** The numeric value of a constant input, or undefined when it is computed at run time. */
  value(p: string): number[] | undefined {
    const v = this.args[p]
    if (v === undefined || Array.isArray(v)) return undefined
    const cv = (v as Var).constValue
    return cv && cv.type.dtype !== 'string' ? toNumbers(cv) : undefined
  }

  /** Like value(), but the op needs the constant to infer its type. */
  constValue(p: string): number[] {
    const v = this.value(p)
    if (v === undefined) this.fail(`input '${p}' must be a constant`)
    return v
  }

  scalar(p: string, fallback?: number): number {
    if (!this.has(p) && fallback !== undefined) return fallback
    const v = this.constValue(p)
    if (v.length !== 1) this.fail(`input '${p}' must be a scalar, got ${v.length} values`)
    return v[0]
  }

  string(p: string, fallback?: string): string {
    if (!this.has(p)) {
      if (fallback !== undefined) return fallback
      this.fail(`missing input '${p}'`)
    }
    const cv = this.var(p).constValue
    if (!cv || cv.type.dtype !== 'string') this.fail(`input '${p}' must be a constant string`)
    return (materialize(cv) as string[])[0]
  }

  bool(p: string, fallback: boolean): boolean {
    return this.has(p) ? this.scalar(p) !== 0 : fallback
  }

  /** Normalizes a possibly negative axis against `rank`. */
  axis(axis: number, rank: number, what = 'axis'): number {
    if (!Number.isInteger(axis) || axis < -rank || axis >= rank)
      this.fail(`${what} ${axis} is out of range for rank ${rank}`)
    return axis < 0 ? axis + rank : axis
  }

  /** NumPy broadcasting of two inputs' shapes, with a message naming both when they clash. */
  broadcast(a: string, b: string): Dim[] {
    return broadcastShapes(this.shape(a), this.shape(b), (i, x, y) =>
      this.fail(
        `cannot broadcast '${a}' ${shapeToString(this.shape(a))} with '${b}' ${shapeToString(this.shape(b))} (dim ${i}: ${x} vs ${y})`,
      ),
    )
  }
}

export function broadcastShapes(
  a: readonly Dim[],
  b: readonly Dim[],
  onError: (dim: number, x: Dim, y: Dim) => never,
): Dim[] {
  const n = Math.max(a.length, b.length)
  const out: Dim[] = []
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1
    const y = b[b.length - n + i] ?? 1
    if (x === y || y === 1) out.push(x)
    else if (x === 1) out.push(y)
    else if (typeof x === 'string' || typeof y === 'string') out.push(typeof x === 'string' ? y : x)
    else onError(i, x, y)
  }
  return out
}
