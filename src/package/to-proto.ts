// CoreMLModel (our IR) → CoreML.Specification.Model, serialized the way coremltools does it
// (format doc §5): consts bound by name, consts used only by constexpr ops inlined into them,
// coreml_update_state lowered to write_state + read_state, large constants sent to weight.bin.
import {
  ArgumentSchema,
  BlockSchema,
  create,
  FunctionSchema,
  ModelSchema,
  NamedValueTypeSchema,
  OperationSchema,
  ProgramSchema,
  ValueSchema,
  type Argument,
  type Model,
  type Operation as PbOperation,
  type Value as PbValue,
} from '../formats/proto/index.js'
import { lookupOp } from '../mil/ops/index.js'
import {
  isConstexprType,
  type Block,
  type MilFunction,
  type Operation,
  type Var,
} from '../mil/program.js'
import { DTYPES, isSubByte, numel, OPSETS } from '../mil/types.js'
import type { TensorValue } from '../mil/value.js'
import { describeModel } from './describe.js'
import type { CoreMLModel } from './model.js'
import { blobValue, immediateValue, stringValue, typeToProto } from './proto-values.js'

export const WEIGHT_FILE = '@model_path/weights/weight.bin'

/** Receives each constant that goes to weight.bin and returns its metadata offset. */
export type BlobSink = (value: TensorValue) => number

const BLOB_DTYPES_SPEC8 = new Set(['fp16', 'fp32', 'uint8', 'int8'])
const BLOB_DTYPES_SPEC9 = new Set([...BLOB_DTYPES_SPEC8, 'uint16', 'int16', 'int32', 'uint32'])

/** coremltools' rule: ≥ 10 elements of a blob-able dtype (sub-byte types count as 8-bit). */
export function goesToBlob(v: TensorValue, specVersion: number): boolean {
  const dt = v.type.dtype
  const ok = isSubByte(dt) || (specVersion >= 9 ? BLOB_DTYPES_SPEC9 : BLOB_DTYPES_SPEC8).has(dt)
  return ok && DTYPES[dt].bits > 0 && numel(v.type.shape) >= 10
}

function namedType(v: Var) {
  return create(NamedValueTypeSchema, { name: v.name, type: typeToProto(v.type) })
}

class FunctionWriter {
  /** Consumers of each var, to find consts used only by constexpr ops. */
  readonly #uses = new Map<Var, Operation[]>()

  constructor(
    readonly fn: MilFunction,
    readonly specVersion: number,
    readonly sink: BlobSink,
  ) {
    const count = (b: Block) => {
      for (const op of b.operations) {
        for (const v of Object.values(op.inputs).flat())
          this.#uses.set(v, [...(this.#uses.get(v) ?? []), op])
        op.blocks.forEach(count)
      }
      for (const v of b.outputs) this.#uses.set(v, [...(this.#uses.get(v) ?? []), OUTPUT])
    }
    count(fn.block)
  }

  value(v: TensorValue): PbValue {
    return goesToBlob(v, this.specVersion)
      ? blobValue(v, WEIGHT_FILE, this.sink(v))
      : immediateValue(v)
  }

  /** A const whose every consumer is a constexpr op is inlined there and not emitted itself. */
  inlined(v: Var): boolean {
    if (v.producer?.type !== 'const') return false
    const uses = this.#uses.get(v) ?? []
    return uses.length > 0 && uses.every((u) => u !== OUTPUT && isConstexprType(u.type))
  }

  block(b: Block) {
    return create(BlockSchema, {
      inputs: b.inputs.map(namedType),
      outputs: b.outputs.map((v) => v.name),
      operations: b.operations.flatMap((op) => this.operation(op)),
    })
  }

  operation(op: Operation): PbOperation[] {
    const name = (n: string) => ({ name: stringValue(n) })
    if (op.type === 'const') {
      if (this.inlined(op.outputs[0])) return []
      return [
        create(OperationSchema, {
          type: 'const',
          attributes: { ...name(op.name), val: this.value(op.value!) },
          outputs: op.outputs.map(namedType),
        }),
      ]
    }
    if (op.type === 'coreml_update_state') {
      const { state, value } = op.inputs as { state: Var; value: Var }
      const write = create(OperationSchema, {
        type: 'write_state',
        inputs: { input: byName(state), data: byName(value) },
        attributes: name(`${op.name}_write_state`),
      })
      const used = (this.#uses.get(op.outputs[0]) ?? []).length > 0
      const read = create(OperationSchema, {
        type: 'read_state',
        inputs: { input: byName(state) },
        attributes: name(op.name),
        outputs: op.outputs.map(namedType),
      })
      return used ? [write, read] : [write]
    }
    const spec = lookupOp(op.type, this.fn.opset)
    const constexpr = isConstexprType(op.type)
    const inputs: Record<string, Argument> = {}
    const attributes: Record<string, PbValue> = name(op.name)
    for (const [param, arg] of Object.entries(op.inputs)) {
      const vars = Array.isArray(arg) ? (arg as Var[]) : [arg as Var]
      if (spec?.attributeStyle) {
        const v = vars[0]
        if (!v.constValue)
          throw new Error(`${op.type} '${op.name}': parameter '${param}' must be a const`)
        attributes[param] = this.value(v.constValue)
        continue
      }
      inputs[param] = create(ArgumentSchema, {
        arguments: vars.map((v) =>
          constexpr && this.inlined(v)
            ? { binding: { case: 'value' as const, value: this.value(v.constValue!) } }
            : { binding: { case: 'name' as const, value: v.name } },
        ),
      })
    }
    return [
      create(OperationSchema, {
        type: op.type,
        inputs,
        attributes,
        outputs: op.outputs.map(namedType),
        blocks: op.blocks.map((b) => this.block(b)),
      }),
    ]
  }

  function() {
    const opset = OPSETS[this.fn.opset].proto
    return create(FunctionSchema, {
      inputs: this.fn.inputs.map((i) => namedType(i.var)),
      opset,
      blockSpecializations: { [opset]: this.block(this.fn.block) },
    })
  }
}

/** Marks a block output as a use, so consts returned by a function are not inlined away. */
const OUTPUT = { type: 'output' } as unknown as Operation

const byName = (v: Var) =>
  create(ArgumentSchema, { arguments: [{ binding: { case: 'name', value: v.name } }] })

/** The whole model proto. Constants for weight.bin go through `sink`, in program order. */
export function modelToProto(model: CoreMLModel, sink: BlobSink): Model {
  const { program, specVersion } = model
  const functions = Object.fromEntries(
    program.functions.map((fn) => [fn.name, new FunctionWriter(fn, specVersion, sink).function()]),
  )
  const buildInfo = Object.entries(program.buildInfo)
  const attributes: Record<string, PbValue> = {}
  if (buildInfo.length > 0) attributes.buildInfo = buildInfoValue(buildInfo)
  return create(ModelSchema, {
    specificationVersion: specVersion,
    description: describeModel(model),
    Type: {
      case: 'mlProgram',
      value: create(ProgramSchema, { version: 1n, functions, attributes }),
    },
  })
}

function buildInfoValue(entries: [string, string][]): PbValue {
  const str = { kind: 'tensor', dtype: 'string', shape: [] } as const
  return create(ValueSchema, {
    type: typeToProto({ kind: 'dict', key: str, value: str }),
    value: {
      case: 'immediateValue',
      value: {
        value: {
          case: 'dictionary',
          value: {
            values: entries
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([k, v]) => ({ key: stringValue(k), value: stringValue(v) })),
          },
        },
      },
    },
  })
}
