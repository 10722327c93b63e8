// CoreML.Specification.Model → CoreMLModel (our IR). Every op is rebuilt through its spec, so
// type inference runs again and must agree with the types the file declares. Inline literals and
// attribute-style parameters become const vars; write_state + read_state pairs written for
// coreml_update_state become that op again.
import type {
  Block as PbBlock,
  Model,
  Operation as PbOperation,
  Value as PbValue,
} from '../formats/proto/index.js'
import { FormatError } from '../util/errors.js'
import { InferCtx, MilTypeError } from '../mil/op-spec.js'
import { lookupOp } from '../mil/ops/index.js'
import {
  Var,
  type Block,
  type FunctionInput,
  type MilFunction,
  type Operation,
  type Program,
} from '../mil/program.js'
import {
  opsetFromProto,
  typeToString,
  type Opset,
  type TensorType,
  type ValueType,
} from '../mil/types.js'
import type { LazyData, TensorValue } from '../mil/value.js'
import { describedFunctions, metadataFromProto, type FeatureInfo } from './describe.js'
import type { CoreMLModel } from './model.js'
import { decodeImmediate, typeFromProto } from './proto-values.js'

/** Resolves a BlobFileValue to lazily loaded data; called once per blob reference. */
export type BlobResolver = (
  fileName: string,
  offset: number,
  type: TensorType,
  where: string,
) => LazyData

export interface FromProtoOptions {
  /** Unknown op types are an error instead of being kept as opaque ops. */
  strict?: boolean
}

/** Declared and inferred types agree when they match, reading '?' dims as wildcards. */
function compatible(declared: ValueType, inferred: ValueType): boolean {
  if (declared.kind === 'list' && inferred.kind === 'list')
    return (
      compatible(declared.elem, inferred.elem) &&
      (typeof declared.length !== 'number' ||
        typeof inferred.length !== 'number' ||
        declared.length === inferred.length)
    )
  if (declared.kind !== 'tensor' || inferred.kind !== 'tensor')
    return typeToString(declared) === typeToString(inferred)
  if (declared.dtype !== inferred.dtype || declared.shape.length !== inferred.shape.length)
    return false
  return declared.shape.every(
    (d, i) =>
      typeof d !== 'number' || typeof inferred.shape[i] !== 'number' || d === inferred.shape[i],
  )
}

class FunctionReader {
  // One scope per block being read: a block's inputs and ops are visible only inside it, so
  // sibling blocks may reuse names (while_loop's cond and body both name the loop vars).
  readonly #scopes: Map<string, Var>[] = [new Map()]
  #synthetic = 0

  constructor(
    readonly file: string,
    readonly fname: string,
    readonly opset: Opset,
    readonly blobs: BlobResolver,
    readonly opts: FromProtoOptions,
  ) {}

  fail(msg: string): never {
    throw new FormatError(this.file, `function '${this.fname}': ${msg}`)
  }

  #visible(name: string): Var | undefined {
    for (let i = this.#scopes.length - 1; i >= 0; i--) {
      const v = this.#scopes[i].get(name)
      if (v) return v
    }
    return undefined
  }

  define(v: Var): Var {
    if (this.#visible(v.name)) this.fail(`var '${v.name}' is defined twice`)
    this.#scopes[this.#scopes.length - 1].set(v.name, v)
    return v
  }

  lookup(name: string, where: string): Var {
    const v = this.#visible(name)
    if (!v) this.fail(`${where} uses '${name}', which is not defined before it`)
    return v
  }

  tensorValue(pb: PbValue, where: string): TensorValue {
    const type = typeFromProto(pb.type, this.file, where)
    if (pb.value.case === 'blobFileValue') {
      if (type.kind !== 'tensor') this.fail(`${where}: a weight blob must hold a tensor`)
      const offset = pb.value.value.offset
      if (offset > BigInt(Number.MAX_SAFE_INTEGER))
        this.fail(`${where}: blob offset ${offset} is out of range`)
      return {
        type,
        data: this.blobs(pb.value.value.fileName, Number(offset), type, `${this.fname}/${where}`),
      }
    }
    return decodeImmediate(pb, this.file, `${this.fname}/${where}`)
  }

  /** A literal argument becomes a const op placed just before the op that uses it. */
  constFor(value: TensorValue, name: string, ops: Operation[]): Var {
    let varName = name
    while (this.#visible(varName)) varName = `${name}_${++this.#synthetic}`
    const v = this.define(new Var(varName, value.type))
    v.constValue = value
    const op: Operation = {
      type: 'const',
      name: varName,
      inputs: {},
      outputs: [v],
      blocks: [],
      value,
    }
    v.producer = op
    ops.push(op)
    return v
  }

  block(pb: PbBlock, where: string): Block {
    this.#scopes.push(new Map())
    const inputs = pb.inputs.map((nv) =>
      this.define(new Var(nv.name, typeFromProto(nv.type, this.file, `${where} input ${nv.name}`))),
    )
    const ops: Operation[] = []
    const list = pb.operations
    for (let i = 0; i < list.length; i++) {
      const merged = this.mergeStateUpdate(list[i], list[i + 1], ops)
      if (merged) i++
      else this.operation(list[i], ops)
    }
    const outputs = pb.outputs.map((n) => this.lookup(n, `${where} outputs`))
    this.#scopes.pop()
    return { inputs, operations: ops, outputs }
  }

  /** write_state(X_write_state) then read_state(X) on the same state = coreml_update_state X. */
  mergeStateUpdate(w: PbOperation, r: PbOperation | undefined, ops: Operation[]): boolean {
    if (w.type !== 'write_state' || r?.type !== 'read_state') return false
    const wName = opName(w)
    const rName = opName(r)
    const state = w.inputs.input?.arguments[0]?.binding
    const rState = r.inputs.input?.arguments[0]?.binding
    const data = w.inputs.data?.arguments[0]?.binding
    if (
      wName !== `${rName}_write_state` ||
      state?.case !== 'name' ||
      rState?.case !== 'name' ||
      state.value !== rState.value ||
      data?.case !== 'name'
    )
      return false
    if (r.outputs.length !== 1 || !rName) return false
    const args = { state: this.lookup(state.value, rName), value: this.lookup(data.value, rName) }
    this.finish('coreml_update_state', rName, args, r.outputs, [], ops)
    return true
  }

  operation(pb: PbOperation, ops: Operation[]): void {
    const name = opName(pb) ?? this.fail(`a ${pb.type} op has no 'name' attribute`)
    if (pb.type === 'const') {
      const val = pb.attributes.val
      if (!val || pb.outputs.length !== 1)
        this.fail(`const '${name}' needs one 'val' attribute and one output`)
      const value = this.tensorValue(val, `const ${name}`)
      const out = this.define(
        new Var(pb.outputs[0].name, typeFromProto(pb.outputs[0].type, this.file, name)),
      )
      if (!compatible(out.type, value.type))
        this.fail(
          `const '${name}' declares ${typeToString(out.type)} but its value is ${typeToString(value.type)}`,
        )
      out.constValue = value
      const op: Operation = { type: 'const', name, inputs: {}, outputs: [out], blocks: [], value }
      out.producer = op
      ops.push(op)
      return
    }
    const args: Record<string, Var | Var[]> = {}
    for (const [param, arg] of Object.entries(pb.inputs)) {
      const vars = arg.arguments.map((b, i) => {
        if (b.binding.case === 'name') return this.lookup(b.binding.value, `${pb.type} '${name}'`)
        if (b.binding.case === 'value')
          return this.constFor(
            this.tensorValue(b.binding.value, `${name}.${param}`),
            `${name}_${param}`,
            ops,
          )
        return this.fail(`${pb.type} '${name}': input '${param}' binding ${i} is empty`)
      })
      const spec = lookupOp(pb.type, this.opset)
      args[param] = spec?.inputs[param]?.variadic || vars.length > 1 ? vars : vars[0]
    }
    // iOS16-era constexpr ops keep their parameters as attributes.
    for (const [param, val] of Object.entries(pb.attributes)) {
      if (param === 'name') continue
      args[param] = this.constFor(
        this.tensorValue(val, `${name}.${param}`),
        `${name}_${param}`,
        ops,
      )
    }
    const blocks = pb.blocks.map((b, i) => this.block(b, `${pb.type} '${name}' block ${i}`))
    this.finish(pb.type, name, args, pb.outputs, blocks, ops)
  }

  finish(
    type: string,
    name: string,
    args: Record<string, Var | Var[]>,
    outs: PbOperation['outputs'],
    blocks: Block[],
    ops: Operation[],
  ): void {
    const declared = outs.map((o) =>
      typeFromProto(o.type, this.file, `${type} '${name}' output ${o.name}`),
    )
    const spec = lookupOp(type, this.opset)
    let opaque = false
    if (!spec) {
      if (this.opts.strict) this.fail(`unknown op '${type}' ('${name}')`)
      opaque = true
    } else {
      for (const p of Object.keys(args))
        if (!(p in spec.inputs)) this.fail(`${type} '${name}': unknown input '${p}'`)
      let inferred: ValueType[]
      try {
        inferred = spec.infer(new InferCtx(spec, name, args))
      } catch (e) {
        if (e instanceof MilTypeError) this.fail(e.message)
        throw e
      }
      if (inferred.length !== declared.length)
        this.fail(
          `${type} '${name}' declares ${declared.length} outputs, its definition gives ${inferred.length}`,
        )
      declared.forEach((d, i) => {
        if (!compatible(d, inferred[i]))
          this.fail(
            `${type} '${name}' output ${outs[i].name} is declared ${typeToString(d)} but infers as ${typeToString(inferred[i])}`,
          )
      })
    }
    const outputs = outs.map((o, i) => this.define(new Var(o.name, declared[i])))
    const op: Operation = {
      type,
      name,
      inputs: args,
      outputs,
      blocks,
      ...(opaque ? { opaque } : {}),
    }
    for (const o of outputs) o.producer = op
    ops.push(op)
  }
}

const opName = (op: PbOperation): string | undefined => {
  const v = op.attributes.name
  return v?.value.case === 'immediateValue' &&
    v.value.value.value.case === 'tensor' &&
    v.value.value.value.value.value.case === 'strings'
    ? v.value.value.value.value.value.value.values[0]
    : undefined
}

function buildInfoFrom(attrs: Record<string, PbValue>): Record<string, string> {
  const v = attrs.buildInfo
  if (v?.value.case !== 'immediateValue' || v.value.value.value.case !== 'dictionary') return {}
  const str = (x: PbValue | undefined) =>
    x?.value.case === 'immediateValue' &&
    x.value.value.value.case === 'tensor' &&
    x.value.value.value.value.value.case === 'strings'
      ? x.value.value.value.value.value.value.values[0]
      : ''
  return Object.fromEntries(
    v.value.value.value.value.values.map((kv) => [str(kv.key), str(kv.value)]),
  )
}

/** Rebuilds the IR of an ML Program model; weights come through `blobs`, lazily. */
export function modelFromProto(
  model: Model,
  file: string,
  blobs: BlobResolver,
  opts: FromProtoOptions = {},
): CoreMLModel {
  if (model.Type.case !== 'mlProgram')
    throw new FormatError(
      file,
      `model type is '${model.Type.case ?? 'none'}', not an ML Program (mlProgram); only ML Programs are supported`,
    )
  const prog = model.Type.value
  if (prog.version !== 1n)
    throw new FormatError(file, `MIL program version ${prog.version} (expected 1)`)
  const described = describedFunctions(model.description)
  const functions: MilFunction[] = Object.entries(prog.functions)
    .sort(([a], [b]) => order(described, a) - order(described, b))
    .map(([fname, fn]) => {
      const opset = opsetFromProto(fn.opset)
      if (!opset)
        throw new FormatError(
          file,
          `function '${fname}': unsupported opset '${fn.opset}' (expected CoreML5..CoreML8)`,
        )
      const body = fn.blockSpecializations[fn.opset]
      if (!body)
        throw new FormatError(file, `function '${fname}': no block for its opset ${fn.opset}`)
      const r = new FunctionReader(file, fname, opset, blobs, opts)
      const features = new Map((described.get(fname) ?? []).map((f) => [f.name, f]))
      const inputs: FunctionInput[] = fn.inputs.map((nv) => {
        const v = r.define(
          new Var(nv.name, typeFromProto(nv.type, file, `function '${fname}' input ${nv.name}`)),
        )
        const f = features.get(nv.name)
        return f?.flexibility
          ? { var: v, flexibility: f.flexibility, defaultShape: f.shape }
          : { var: v }
      })
      const block = r.block(body, `function '${fname}'`)
      const descriptions = Object.fromEntries(
        [...features.values()].filter((f) => f.doc).map((f) => [f.name, f.doc]),
      )
      return { name: fname, opset, inputs, block, descriptions }
    })
  if (functions.length === 0) throw new FormatError(file, 'the program has no functions')
  const def =
    model.description?.defaultFunctionName ||
    (functions.some((f) => f.name === 'main') ? 'main' : functions[0].name)
  const program: Program = {
    functions,
    defaultFunction: def,
    buildInfo: buildInfoFrom(prog.attributes),
  }
  return {
    specVersion: model.specificationVersion,
    program,
    metadata: metadataFromProto(model.description),
  }
}

function order(described: Map<string, FeatureInfo[]>, name: string): number {
  const i = [...described.keys()].indexOf(name)
  return i < 0 ? Number.MAX_SAFE_INTEGER : i
}
