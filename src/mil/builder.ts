// Builds MIL functions op by op. Each op method comes from the op table (ops/index.ts) and is typed
// by its spec; types and shapes are inferred as ops are added, so mistakes throw at the line that
// made them, naming the op, the input and the shapes involved.
import { floatsToHalfs, floatToBf16 } from '../util/fp16.js'
import {
  InferCtx,
  MilTypeError,
  type Literal,
  type OpArgs,
  type OpResult,
  type OpSpec,
} from './op-spec.js'
import { OPS, type OpType } from './ops/index.js'
import {
  isConstProducer,
  Var,
  type Block,
  type Flexibility,
  type FunctionInput,
  type MilFunction,
  type Operation,
  type Program,
} from './program.js'
import {
  DTYPES,
  isFloat,
  tensor as tensorType,
  typeToString,
  type DType,
  type Opset,
  type StateType,
  type TensorType,
  type ValueType,
} from './types.js'
import { allocate, checkData, PackedBits, type ArrayData, type TensorValue } from './value.js'

type OpMethods = {
  [K in OpType]: (args: OpArgs<(typeof OPS)[K]>, name?: string) => OpResult<(typeof OPS)[K]>
}

/** Words MIL text reserves; coremltools renames vars that use them. */
const RESERVED = new Set(
  'any bool program func tensor list dict tuple true false string bf16 fp16 fp32 fp64 int8 int16 int32 int64 uint8 uint16 uint32 uint64 state'.split(
    ' ',
  ),
)

/** Turns `layers.3.attn_norm` into the identifier `layers_3_attn_norm` (format doc §2.9). */
export function sanitizeName(name: string): string {
  let s = name.replace(/[^A-Za-z0-9_]/g, '_')
  if (!/^[A-Za-z_]/.test(s)) s = `_${s}`
  return RESERVED.has(s) ? `${s}_workaround` : s
}

const isVar = (a: unknown): a is Var => a instanceof Var
const isTensorValue = (a: unknown): a is TensorValue =>
  typeof a === 'object' && a !== null && !Array.isArray(a) && 'type' in a && 'data' in a

/** Encodes plain JS numbers/booleans/strings into the storage form of `dtype`. */
export function encodeValues(
  dtype: DType,
  values: readonly (number | boolean | string)[],
): ArrayData {
  const n = values.length
  if (dtype === 'string') return values.map(String)
  if (dtype === 'fp16') return floatsToHalfs(values.map(Number))
  if (dtype === 'bf16') return Uint16Array.from(values, (v) => floatToBf16(Number(v)))
  if (DTYPES[dtype].bits < 8 && dtype !== 'bool')
    return PackedBits.pack(values.map(Number), DTYPES[dtype].bits, dtype === 'int4')
  const out = allocate(dtype, n)
  for (let i = 0; i < n; i++) {
    const v = Number(values[i])
    if (out instanceof BigInt64Array || out instanceof BigUint64Array) out[i] = BigInt(v)
    else (out as Exclude<ArrayData, PackedBits | string[] | BigInt64Array | BigUint64Array>)[i] = v
  }
  return out
}

/** A tensor constant from plain values: `constant('int32', [2], [1, 1])`. */
export function constant(
  dtype: DType,
  shape: readonly number[],
  values: readonly (number | boolean | string)[],
): TensorValue {
  const type = tensorType(dtype, shape)
  const data = encodeValues(dtype, values)
  const problem = checkData(type, data)
  if (problem) throw new MilTypeError(`constant ${typeToString(type)}: ${problem}`)
  return { type, data }
}

// The op methods are installed from the op table in the constructor; this merge types them.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface FunctionBuilder extends OpMethods {}

/** Builds the body of one function. Names given to ops become their output var names. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class FunctionBuilder {
  readonly operations: Operation[] = []
  readonly #names = new Set<string>()
  readonly #prefix: string[] = []
  #counter = 0

  constructor(readonly opset: Opset = 'ios18') {
    for (const type of Object.keys(OPS) as OpType[]) {
      const spec = OPS[type] as OpSpec
      Object.defineProperty(this, type, {
        value: (args: Record<string, unknown>, name?: string) => this.op(spec, args, name),
        enumerable: false,
      })
    }
  }

  /** Runs `body` with `prefix.` in front of every name it creates: `b.scope('layers.3', ...)`. */
  scope<T>(prefix: string, body: () => T): T {
    this.#prefix.push(prefix)
    try {
      return body()
    } finally {
      this.#prefix.pop()
    }
  }

  /** A unique, legal name from `base` within the current scope. */
  uniqueName(base: string): string {
    const full = sanitizeName([...this.#prefix, base].join('.'))
    let name = full
    for (let i = 1; this.#names.has(name); i++) name = `${full}_${i}`
    this.#names.add(name)
    return name
  }

  #unscopedUnique(full: string): string {
    let name = full
    for (let i = 1; this.#names.has(name); i++) name = `${full}_${i}`
    this.#names.add(name)
    return name
  }

  /** Registers a function input var so names stay unique. */
  input(name: string, type: TensorType | StateType): Var {
    const clean = sanitizeName(name)
    if (clean !== name)
      throw new MilTypeError(`input name '${name}' is not an identifier (try '${clean}')`)
    if (this.#names.has(name)) throw new MilTypeError(`duplicate input name '${name}'`)
    this.#names.add(name)
    return new Var(name, type)
  }

  /** A `const` op. Literals get `dtype` (default: fp32 for numbers, bool, string). */
  const(value: Literal, name?: string, dtype?: DType): Var {
    return this.#const(value, this.uniqueName(name ?? 'const'), dtype)
  }

  #const(value: Literal, opName: string, dtype?: DType): Var {
    const v = isTensorValue(value) ? value : literalValue(value, dtype)
    const out = new Var(opName, v.type)
    out.constValue = v
    const op: Operation = {
      type: 'const',
      name: opName,
      inputs: {},
      outputs: [out],
      blocks: [],
      value: v,
    }
    out.producer = op
    this.operations.push(op)
    return out
  }

  /** Adds an op by spec; the typed methods (`b.conv({...})`) call this. */
  op(spec: OpSpec, args: Record<string, unknown>, name?: string): Var | Var[] | undefined {
    const opName = this.uniqueName(name ?? `${spec.type}_${this.#counter++}`)
    const fail = (msg: string): never => {
      throw new MilTypeError(`${spec.type} '${opName}': ${msg}`)
    }
    for (const key of Object.keys(args)) {
      if (!(key in spec.inputs) && args[key] !== undefined)
        fail(`unknown input '${key}' (inputs: ${Object.keys(spec.inputs).join(', ')})`)
    }
    // Bind the vars first so literals and defaults can take their dtype from them.
    const bound: Record<string, Var | Var[]> = {}
    const domainOf = new Map<string, DType>()
    const bindDomain = (param: string, domain: string, v: Var) => {
      const t = v.type.kind === 'state' ? v.type.wrapped : v.type
      if (t.kind !== 'tensor')
        return fail(`input '${param}' must be a tensor, got ${typeToString(v.type)}`)
      const allowed = spec.domains[domain] ?? []
      if (!allowed.includes(t.dtype))
        fail(`input '${param}' (${v.name}) is ${t.dtype}; allowed: ${allowed.join(', ')}`)
      const prev = domainOf.get(domain)
      if (prev && prev !== t.dtype)
        fail(`input '${param}' is ${t.dtype} but another input of type ${domain} is ${prev}`)
      domainOf.set(domain, t.dtype)
    }
    for (const [param, decl] of Object.entries(spec.inputs)) {
      const a = args[param]
      if (a === undefined) continue
      const items = decl.variadic
        ? Array.isArray(a)
          ? a
          : fail(`input '${param}' takes a list`)
        : [a]
      const vars = items.filter(isVar)
      for (const v of vars) {
        if (!!decl.state !== (v.type.kind === 'state'))
          fail(
            `input '${param}' ${decl.state ? 'must be a state' : 'cannot be a state'}; got ${typeToString(v.type)}`,
          )
        bindDomain(param, decl.domain, v)
      }
    }
    const literalDtype = (domain: string): DType => {
      const allowed = spec.domains[domain] ?? []
      const b = domainOf.get(domain)
      if (b) return b
      if (allowed.length === 1) return allowed[0]
      for (const d of domainOf.values()) if (allowed.includes(d) && isFloat(d)) return d
      // Plain numbers default to int32 / fp32 (never int8: shapes and indices overflow it).
      return (['int32', 'fp32'] as const).find((d) => allowed.includes(d)) ?? allowed[0]
    }
    const makeConst = (param: string, decl: { domain: string }, lit: unknown, suffix = '') => {
      // opName already carries the scope prefix: name the const after it without adding it again.
      const v = this.#const(
        lit as Literal,
        this.#unscopedUnique(`${opName}_${param}${suffix}`),
        literalDtype(decl.domain),
      )
      bindDomain(param, decl.domain, v)
      return v
    }
    for (const [param, decl] of Object.entries(spec.inputs)) {
      const a = args[param]
      if (a === undefined) continue
      if (decl.variadic) {
        bound[param] = (a as unknown[]).map((x, i) =>
          isVar(x) ? x : makeConst(param, decl, x, `_${i}`),
        )
      } else bound[param] = isVar(a) ? a : makeConst(param, decl, a)
    }
    for (const [param, decl] of Object.entries(spec.inputs)) {
      if (bound[param] !== undefined) continue
      if (!decl.optional) fail(`missing required input '${param}'`)
      if (decl.default)
        bound[param] = makeConst(param, decl, decl.default(new InferCtx(spec, opName, bound)))
    }
    for (const [param, decl] of Object.entries(spec.inputs)) {
      if (!decl.const && !spec.constexpr) continue
      for (const v of [bound[param]].flat()) {
        if (v && !isConstVar(v))
          fail(`input '${param}' must be a constant, but '${v.name}' is computed at run time`)
      }
    }
    const types = spec.infer(new InferCtx(spec, opName, bound))
    const outputs = types.map(
      (t, i) => new Var(types.length > 1 || spec.multiOutput ? `${opName}_${i}` : opName, t),
    )
    for (const o of outputs.slice(types.length > 1 || spec.multiOutput ? 0 : 1))
      this.#names.add(o.name)
    const op: Operation = { type: spec.type, name: opName, inputs: bound, outputs, blocks: [] }
    for (const o of outputs) o.producer = op
    this.operations.push(op)
    if (spec.noOutput) return undefined
    return spec.multiOutput ? outputs : outputs[0]
  }

  /** Gives `v` the feature name `name`, inserting an identity op when `v` can't be renamed. */
  output(name: string, v: Var, inputs: readonly Var[]): Var {
    if (v.name === name) return v
    if (v.type.kind !== 'tensor')
      throw new MilTypeError(`output '${name}' must be a tensor, got ${typeToString(v.type)}`)
    if (inputs.includes(v) || v.producer?.type === 'const' || this.#names.has(name))
      return this.identity({ x: v }, name)
    this.#names.delete(v.name)
    this.#names.add(name)
    v.name = name
    return v
  }
}

const isConstVar = (v: Var): boolean => isConstProducer(v.producer)

function literalValue(lit: Literal, dtype?: DType): TensorValue {
  if (isTensorValue(lit)) return lit
  const values = (Array.isArray(lit) ? lit : [lit]) as readonly (number | boolean | string)[]
  const shape = Array.isArray(lit) ? [lit.length] : []
  const guess: DType =
    typeof values[0] === 'string' ? 'string' : typeof values[0] === 'boolean' ? 'bool' : 'fp32'
  return constant(dtype ?? guess, shape, values)
}

export interface FunctionSpec {
  name: string
  opset?: Opset
  inputs: Record<
    string,
    ValueType | { type: TensorType; flexibility: Flexibility; defaultShape?: number[] }
  >
  descriptions?: Record<string, string>
}

/**
 * Builds one function: `body` gets the builder and the input vars and returns the outputs by
 * feature name (their order is the output order).
 * @example
 * const fn = buildFunction({ name: 'main', inputs: { x: tensor('fp16', [1, 64]) } }, (b, { x }) => ({
 *   y: b.relu({ x }),
 * }))
 */
export function buildFunction(
  spec: FunctionSpec,
  body: (b: FunctionBuilder, inputs: Record<string, Var>) => Record<string, Var>,
): MilFunction {
  const b = new FunctionBuilder(spec.opset ?? 'ios18')
  const inputs: FunctionInput[] = Object.entries(spec.inputs).map(([name, t]) => {
    if ('flexibility' in t)
      return {
        var: b.input(name, t.type),
        flexibility: t.flexibility,
        defaultShape: t.defaultShape,
      }
    if (t.kind !== 'tensor' && t.kind !== 'state')
      throw new MilTypeError(`input '${name}' must be a tensor or a state`)
    return { var: b.input(name, t) }
  })
  const vars = Object.fromEntries(inputs.map((i) => [i.var.name, i.var]))
  const outs = Object.entries(body(b, vars)).map(([name, v]) =>
    b.output(name, v, Object.values(vars)),
  )
  if (outs.length === 0) throw new MilTypeError(`function '${spec.name}' has no outputs`)
  const block: Block = { inputs: [], operations: b.operations, outputs: outs }
  return { name: spec.name, opset: b.opset, inputs, block, descriptions: spec.descriptions ?? {} }
}

/** Assembles functions into a program; a single function must be named `main`. */
export function buildProgram(
  functions: MilFunction[],
  opts: { defaultFunction?: string; buildInfo?: Record<string, string> } = {},
): Program {
  if (functions.length === 0) throw new MilTypeError('a program needs at least one function')
  const names = new Set(functions.map((f) => f.name))
  if (names.size !== functions.length) throw new MilTypeError('function names must be unique')
  const opsets = new Set(functions.map((f) => f.opset))
  if (opsets.size > 1)
    throw new MilTypeError(`all functions must share one opset, got ${[...opsets].join(', ')}`)
  const defaultFunction = opts.defaultFunction ?? functions[0].name
  if (!names.has(defaultFunction))
    throw new MilTypeError(`default function '${defaultFunction}' is not in the program`)
  return { functions, defaultFunction, buildInfo: opts.buildInfo ?? {} }
}
