// The in-memory ML Program: Program → Function → Block → Operation, with Vars connecting them.
import { ProgramError } from '../util/errors.js'
import type { TensorValue } from './value.js'
import type { Opset, TensorType, ValueType } from './types.js'

/** A named SSA value: a function input, a block input, or an op output. */
export class Var {
  /** Set when this var is the output of a `const` op: shape inference and writers read it. */
  constValue?: TensorValue
  constructor(
    /** Mutable only so a builder can give a function's output its feature name. */
    public name: string,
    readonly type: ValueType,
    public producer?: Operation,
  ) {}
}

/**
 * constexpr ops (MIL's naming rule, which also covers opaque ones from newer opsets; the op
 * table's `constexpr` flags agree, op-spec test): compile-time ops whose output is a constant.
 */
export const isConstexprType = (type: string): boolean => type.startsWith('constexpr_')

/** True for `const` and constexpr ops: their outputs are constants. */
export const isConstProducer = (op: Operation | undefined): boolean =>
  !!op && (op.type === 'const' || isConstexprType(op.type))

/** A parameter binds one var, or several for variadic (tuple) parameters such as concat.values. */
export type OpInput = Var | readonly Var[]

export interface Operation {
  /** Op type, e.g. `conv`. */
  readonly type: string
  /** The op's `name` attribute (unique within a function; may differ from its output var names). */
  readonly name: string
  readonly inputs: Readonly<Record<string, OpInput>>
  readonly outputs: readonly Var[]
  /** Nested blocks of control-flow ops (while_loop, cond); empty otherwise. */
  readonly blocks: readonly Block[]
  /** The value of a `const` op. */
  readonly value?: TensorValue
  /** True for ops whose definition is not in our op table (kept as read, types taken from the file). */
  readonly opaque?: boolean
}

export interface Block {
  readonly inputs: readonly Var[]
  readonly operations: Operation[]
  readonly outputs: readonly Var[]
}

/** Shape flexibility of a function input (format doc §2.5): a range per dim or a list of shapes. */
export type Flexibility =
  | { readonly kind: 'range'; readonly ranges: readonly (readonly [number, number])[] }
  | { readonly kind: 'enumerated'; readonly shapes: readonly (readonly number[])[] }

export interface FunctionInput {
  readonly var: Var
  readonly flexibility?: Flexibility
  /** Default shape used for flexible inputs (the model description's `shape`). */
  readonly defaultShape?: readonly number[]
}

export interface MilFunction {
  readonly name: string
  readonly opset: Opset
  readonly inputs: readonly FunctionInput[]
  readonly block: Block
  /** shortDescription of inputs/outputs/states by feature name. */
  readonly descriptions: Readonly<Record<string, string>>
}

export interface Program {
  readonly functions: readonly MilFunction[]
  /** For multi-function programs; single-function programs name their function `main`. */
  readonly defaultFunction: string
  /** The program's `buildInfo` attribute. */
  readonly buildInfo: Readonly<Record<string, string>>
}

export const isMultiFunction = (p: Program): boolean =>
  p.functions.length > 1 || p.functions[0]?.name !== 'main'

export function getFunction(p: Program, name = p.defaultFunction): MilFunction {
  const f = p.functions.find((fn) => fn.name === name)
  if (!f) {
    const names = p.functions.map((fn) => fn.name).join(', ')
    throw new ProgramError(`no function '${name}' in program (functions: ${names})`)
  }
  return f
}

/** The tensor type of a var; throws for states, lists and tuples. */
export function tensorTypeOf(v: Var): TensorType {
  if (v.type.kind !== 'tensor')
    throw new ProgramError(`var '${v.name}' is a ${v.type.kind}, not a tensor`)
  return v.type
}

/** Every operation of a block, nested blocks included, in order. */
export function* walkOps(block: Block): Generator<Operation> {
  for (const op of block.operations) {
    yield op
    for (const b of op.blocks) yield* walkOps(b)
  }
}

/** Vars of a function's inputs that are states (KV caches). */
export const stateInputs = (f: MilFunction): Var[] =>
  f.inputs.map((i) => i.var).filter((v) => v.type.kind === 'state')

export const tensorInputs = (f: MilFunction): FunctionInput[] =>
  f.inputs.filter((i) => i.var.type.kind !== 'state')
