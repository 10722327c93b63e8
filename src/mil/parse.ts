// MIL text → Program. Gives the syntax tree (text-ast.ts) its meaning: scopes and vars, const
// values, BLOBFILE references, and each op checked against its spec (ops/index.ts) by re-running
// type inference and comparing with the types the file declares.
import { FormatError } from '../util/errors.js'
import { sanitizeName } from './builder.js'
import { InferCtx, MilTypeError, type OpSpec } from './op-spec.js'
import { lookupOp } from './ops/index.js'
import {
  Var,
  type Block,
  type FunctionInput,
  type MilFunction,
  type Operation,
  type Program,
} from './program.js'
import {
  parseMilSyntax,
  type ArgAst,
  type BlockAst,
  type FunctionAst,
  type Pos,
  type StmtAst,
  type TypedValue,
} from './text-ast.js'
import { functionFlexibility, programBuildInfo } from './text-attrs.js'
import { numberValue } from './text-lexer.js'
import { tensorFromRaw, typeText } from './text-values.js'
import { opsetFromProto, OPSETS, type Opset, type TensorType, type ValueType } from './types.js'
import type { LazyData, TensorValue } from './value.js'

/** Where a BLOBFILE const's data lives: the path as written (`@model_path/...`) and the offset. */
export interface BlobRef {
  readonly path: string
  readonly offset: number
}

export interface ParseOptions {
  /** Ops missing from our op table are errors instead of opaque operations. */
  readonly strict?: boolean
  /** Makes the data of a BLOBFILE const; without it, loading such data throws. */
  readonly resolveBlob?: (ref: BlobRef, type: TensorType) => LazyData
}

export interface ParsedMil {
  readonly program: Program
  /** The printer version from `program(1.x)`. */
  readonly version: string
  /** Blob location of every BLOBFILE value (const `val`s and inline arguments). */
  readonly blobs: Map<TensorValue, BlobRef>
}

/**
 * Parses MIL text (a compiled model's `model.mil`, or printProgram's output) into a Program.
 * Ops are checked against our op table; unknown ops are kept as `opaque` with the declared types.
 * @throws FormatError naming `file` (with line and column for syntax errors)
 */
export function parseMil(text: string, file: string, opts: ParseOptions = {}): ParsedMil {
  const ast = parseMilSyntax(text, file)
  const blobs = new Map<TensorValue, BlobRef>()
  const functions = ast.functions.map((f) => new FunctionReader(f, file, opts, blobs).read())
  const names = functions.map((f) => f.name)
  if (new Set(names).size !== names.length) throw new FormatError(file, 'duplicate function names')
  if (functions.length === 0) throw new FormatError(file, 'the program has no functions')
  const program: Program = {
    functions,
    defaultFunction: names.includes('main') ? 'main' : names[0],
    buildInfo: programBuildInfo(ast.attrs, (msg) => {
      throw new FormatError(file, msg)
    }),
  }
  return { program, version: ast.version, blobs }
}

const OPSET_TAGS: Record<string, Opset> = {
  ios15: 'ios15',
  ios16: 'ios16',
  ios17: 'ios17',
  ios18: 'ios18',
}

/** Lexical scope of a block: its own vars, then the enclosing blocks'. */
class Scope {
  readonly vars = new Map<string, Var>()
  constructor(readonly parent?: Scope) {}
  get(name: string): Var | undefined {
    return this.vars.get(name) ?? this.parent?.get(name)
  }
}

class FunctionReader {
  readonly opset: Opset
  /** Every var name the text declares, so names we make for inline literals never clash. */
  readonly #taken = new Set<string>()

  constructor(
    readonly ast: FunctionAst,
    readonly file: string,
    readonly opts: ParseOptions,
    readonly blobs: Map<TensorValue, BlobRef>,
  ) {
    const opset = OPSET_TAGS[ast.opsetTag] ?? opsetFromProto(ast.opsetTag)
    if (!opset)
      this.fail(
        ast.pos,
        `function ${ast.name}: unknown opset '${ast.opsetTag}' (expected ios15..ios18 or CoreML5..CoreML8)`,
      )
    this.opset = opset!
    collectNames(ast.block, this.#taken)
  }

  read(): MilFunction {
    const scope = new Scope()
    const inputs: FunctionInput[] = this.ast.block.inputs.map((i) => {
      if (i.type.kind !== 'tensor' && i.type.kind !== 'state')
        this.fail(i.pos, `function ${this.ast.name}: input '${i.name}' must be a tensor or a state`)
      return { var: this.declare(scope, i.name, i.type, i.pos) }
    })
    const flex = functionFlexibility(this.ast.attrs, (msg) =>
      this.fail(this.ast.pos, `function ${this.ast.name}: ${msg}`),
    )
    const withFlex = inputs.map((i) =>
      flex.has(i.var.name) ? { ...i, ...flex.get(i.var.name) } : i,
    )
    return {
      name: this.ast.name,
      opset: this.opset,
      inputs: withFlex,
      block: this.block(this.ast.block, scope, true),
      descriptions: {},
    }
  }

  block(ast: BlockAst, scope: Scope, isFunction = false): Block {
    const inputs = isFunction
      ? []
      : ast.inputs.map((i) => this.declare(scope, i.name, i.type, i.pos))
    const operations: Operation[] = []
    for (const stmt of ast.stmts) this.stmt(stmt, scope, operations)
    const outputs = ast.outputs.map((o) => this.lookup(scope, o.name, o.pos))
    return { inputs, operations: mergeStateUpdates(operations, this.opset), outputs }
  }

  stmt(s: StmtAst, scope: Scope, ops: Operation[]): void {
    const attrs = new Map(s.attrs)
    const nameAttr = attrs.get('name')
    const name = nameAttr
      ? this.stringOf(nameAttr)
      : (s.outputs[0]?.name ?? `${s.op}_${s.pos.line}`)
    attrs.delete('name')
    const where = `function ${this.ast.name}, op '${name}' (${s.op})`
    if (s.op === 'const') return this.constStmt(s, attrs, name, scope, ops, where)
    const spec = lookupOp(s.op, this.opset)
    if (!spec && this.opts.strict)
      this.fail(s.pos, `unknown op '${s.op}' (function ${this.ast.name})`)
    // Parameters: bound vars, tuples, inline literals; attribute-style ops give theirs as attributes.
    const given = new Map<string, ArgAst>(s.args)
    for (const [k, v] of attrs) {
      if (given.has(k)) this.fail(v.pos, `${where}: '${k}' is both an input and an attribute`)
      if (spec && !spec.attributeStyle) this.fail(v.pos, `${where}: unexpected attribute '${k}'`)
      given.set(k, v)
    }
    const order = spec
      ? [...Object.keys(spec.inputs), ...[...given.keys()].filter((k) => !(k in spec.inputs))]
      : [...given.keys()]
    const inputs: Record<string, Var | Var[]> = {}
    for (const param of order) {
      const a = given.get(param)
      if (a === undefined) continue
      if (spec && !(param in spec.inputs))
        this.fail(
          s.pos,
          `${where}: unknown parameter '${param}' (parameters: ${Object.keys(spec.inputs).join(', ')})`,
        )
      inputs[param] =
        a.kind === 'tuple'
          ? a.items.map((it, i) => this.argVar(it, `${name}_${param}_${i}`, scope, ops, where))
          : this.argVar(a, `${name}_${param}`, scope, ops, where)
    }
    const outputs = s.outputs.map((o) => this.declare(scope, o.name, o.type, o.pos))
    const op: Operation = {
      type: s.op,
      name,
      inputs,
      outputs,
      blocks: s.blocks.map((b) => this.block(b, new Scope(scope))),
      ...(spec ? {} : { opaque: true }),
    }
    for (const o of outputs) o.producer = op
    if (spec) this.check(spec, op, s.pos, where)
    ops.push(op)
  }

  constStmt(
    s: StmtAst,
    attrs: Map<string, TypedValue>,
    name: string,
    scope: Scope,
    ops: Operation[],
    where: string,
  ): void {
    const val = attrs.get('val')
    if (!val || attrs.size !== 1 || s.args.length || s.outputs.length !== 1)
      this.fail(
        s.pos,
        `${where}: a const has one output, no inputs and the attributes name and val`,
      )
    const value = this.value(val!, where)
    const out = s.outputs[0]
    if (typeText(out.type) !== typeText(value.type))
      this.fail(
        out.pos,
        `${where}: declared ${typeText(out.type)} but the value is ${typeText(value.type)}`,
      )
    this.pushConst(name, this.declare(scope, out.name, value.type, out.pos), value, ops)
  }

  /** The var an argument denotes; inline literals become const ops named after the parameter. */
  argVar(a: ArgAst, constName: string, scope: Scope, ops: Operation[], where: string): Var {
    if (a.kind === 'var') return this.lookup(scope, a.name, a.pos)
    if (a.kind === 'tuple') return this.fail(a.pos, `${where}: nested tuples are not supported`)
    const value = this.value(a, where)
    let n = sanitizeName(constName)
    for (let i = 1; this.#taken.has(n); i++) n = `${sanitizeName(constName)}_${i}`
    this.#taken.add(n)
    return this.pushConst(n, new Var(n, value.type), value, ops)
  }

  pushConst(name: string, v: Var, value: TensorValue, ops: Operation[]): Var {
    v.constValue = value
    const op: Operation = { type: 'const', name, inputs: {}, outputs: [v], blocks: [], value }
    v.producer = op
    ops.push(op)
    return v
  }

  /** A typed literal as a tensor value; BLOBFILE data is resolved lazily. */
  value(t: TypedValue, where: string): TensorValue {
    const fail = (msg: string): never => this.fail(t.pos, `${where}: ${msg}`)
    if (t.type.kind !== 'tensor') return fail(`a ${typeText(t.type)} literal is not supported here`)
    const type = t.type
    if (t.value.kind !== 'blob') return tensorFromRaw(type, t.value, fail)
    const path = this.stringOf(t.value.path)
    const offset = numberValue(
      t.value.offset.value.kind === 'number' ? t.value.offset.value.text : 'nan',
    )
    if (!Number.isSafeInteger(offset) || offset < 0) fail(`bad BLOBFILE offset in ${path}`)
    const ref: BlobRef = { path, offset }
    const data = this.opts.resolveBlob?.(ref, type) ?? {
      lazy: true as const,
      key: `${path}@${offset}`,
      blob: ref,
      load: (): never => {
        throw new FormatError(
          this.file,
          `BLOBFILE ${path} offset ${offset}: no weight file was given to read it from`,
        )
      },
    }
    const value = { type, data }
    this.blobs.set(value, ref)
    return value
  }

  stringOf(t: TypedValue): string {
    if (t.value.kind !== 'string') this.fail(t.pos, `expected a string, got ${typeText(t.type)}`)
    return (t.value as { value: string }).value
  }

  /** Re-runs the spec's type inference and compares with the declared output types. */
  check(spec: OpSpec, op: Operation, pos: Pos, where: string): void {
    for (const [param, decl] of Object.entries(spec.inputs)) {
      const bound = op.inputs[param]
      if (bound === undefined) {
        if (!decl.optional) this.fail(pos, `${where}: missing input '${param}'`)
        continue
      }
      for (const v of [bound].flat()) {
        if (v.type.kind === 'list') {
          if (!decl.list) this.fail(pos, `${where}: input '${param}' cannot be a list`)
          continue
        }
        const t = v.type.kind === 'state' ? v.type.wrapped : v.type
        if (!!decl.state !== (v.type.kind === 'state'))
          this.fail(
            pos,
            `${where}: input '${param}' ${decl.state ? 'must' : 'cannot'} be a state, got ${typeText(v.type)}`,
          )
        const allowed = spec.domains[decl.domain] ?? []
        if (t.kind !== 'tensor' || !allowed.includes(t.dtype))
          this.fail(
            pos,
            `${where}: input '${param}' is ${typeText(v.type)}; allowed dtypes: ${allowed.join(', ')}`,
          )
      }
    }
    let inferred: ValueType[]
    try {
      inferred = spec.infer(new InferCtx(spec, op.name, op.inputs as Record<string, Var | Var[]>))
    } catch (e) {
      if (e instanceof MilTypeError) this.fail(pos, `function ${this.ast.name}, ${e.message}`)
      throw e
    }
    if (inferred.length !== op.outputs.length)
      this.fail(
        pos,
        `${where}: declares ${op.outputs.length} outputs, the op has ${inferred.length}`,
      )
    op.outputs.forEach((v, i) => {
      if (!compatible(v.type, inferred[i]))
        this.fail(
          pos,
          `${where}: declared ${typeText(v.type)} but inferred ${typeText(inferred[i])} for '${v.name}'`,
        )
    })
  }

  declare(scope: Scope, name: string, type: ValueType, pos: Pos): Var {
    if (scope.vars.has(name))
      this.fail(pos, `function ${this.ast.name}: var '${name}' is defined twice`)
    const v = new Var(name, type)
    scope.vars.set(name, v)
    return v
  }

  lookup(scope: Scope, name: string, pos: Pos): Var {
    return scope.get(name) ?? this.fail(pos, `function ${this.ast.name}: unknown var '${name}'`)
  }

  fail(pos: Pos, msg: string): never {
    throw new FormatError(this.file, `line ${pos.line} col ${pos.col}: ${msg}`)
  }
}

function collectNames(b: BlockAst, out: Set<string>): void {
  for (const i of b.inputs) out.add(i.name)
  for (const s of b.stmts) {
    for (const o of s.outputs) out.add(o.name)
    for (const nb of s.blocks) collectNames(nb, out)
  }
}

/** Declared and inferred types agree: same kind and dtype, same rank, equal static dims. */
function compatible(declared: ValueType, inferred: ValueType): boolean {
  if (declared.kind === 'state' && inferred.kind === 'state')
    return compatible(declared.wrapped, inferred.wrapped)
  if (declared.kind !== 'tensor' || inferred.kind !== 'tensor')
    return typeText(declared) === typeText(inferred)
  if (declared.dtype !== inferred.dtype || declared.shape.length !== inferred.shape.length)
    return false
  return declared.shape.every((d, i) => {
    const e = inferred.shape[i]
    return typeof d !== 'number' || typeof e !== 'number' || d === e
  })
}

/**
 * `write_state` named `X_write_state` right before `read_state` named `X` on the same state is
 * how coreml_update_state is stored (format doc §5.5); we merge the pair back, as coremltools does.
 */
function mergeStateUpdates(ops: Operation[], opset: Opset): Operation[] {
  if (OPSETS[opset].order < OPSETS.ios18.order) return ops
  const out: Operation[] = []
  for (let i = 0; i < ops.length; i++) {
    const w = ops[i]
    const r = ops[i + 1]
    if (
      w.type === 'write_state' &&
      r?.type === 'read_state' &&
      w.name === `${r.name}_write_state` &&
      w.inputs.input === r.inputs.input
    ) {
      const merged: Operation = {
        type: 'coreml_update_state',
        name: r.name,
        inputs: { state: w.inputs.input, value: w.inputs.data },
        outputs: r.outputs,
        blocks: [],
      }
      for (const v of r.outputs) v.producer = merged
      out.push(merged)
      i++
    } else out.push(w)
  }
  return out
}
