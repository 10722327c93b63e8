// The ModelDescription of a model: the feature list CoreML shows apps (inputs, outputs, states per
// function) and the metadata (format doc §2.2–§2.5, §5.1).
import {
  ArrayFeatureType_ArrayDataType as ArrayDataType,
  create,
  FeatureDescriptionSchema,
  FunctionDescriptionSchema,
  MetadataSchema,
  ModelDescriptionSchema,
  type FeatureDescription,
  type FeatureType,
  type ModelDescription,
} from '../formats/proto/index.js'
import { FormatError } from '../util/errors.js'
import { isStatic, shapeToString, type DType, type TensorType } from '../mil/types.js'
import type { FunctionInput, MilFunction, Var } from '../mil/program.js'
import type { CoreMLModel, ModelMetadata } from './model.js'

/** Feature dtypes CoreML accepts for model I/O, with the spec version each needs. */
const IO_DTYPES: Partial<Record<DType, { code: ArrayDataType; minSpec: number }>> = {
  fp32: { code: ArrayDataType.FLOAT32, minSpec: 1 },
  int32: { code: ArrayDataType.INT32, minSpec: 1 },
  fp64: { code: ArrayDataType.DOUBLE, minSpec: 1 },
  fp16: { code: ArrayDataType.FLOAT16, minSpec: 7 },
  int8: { code: ArrayDataType.INT8, minSpec: 10 },
}
const IO_CODES = new Map(Object.entries(IO_DTYPES).map(([d, r]) => [r!.code as number, d as DType]))

function ioCode(t: TensorType, what: string, spec: number): ArrayDataType {
  const row = IO_DTYPES[t.dtype]
  if (!row)
    throw new FormatError(
      what,
      `${t.dtype} is not a CoreML input/output type (use fp16, fp32 or int32)`,
    )
  if (spec < row.minSpec)
    throw new FormatError(
      what,
      `${t.dtype} inputs/outputs need specification version ${row.minSpec}`,
    )
  return row.code
}

function feature(name: string, type: FeatureType['Type'], doc = ''): FeatureDescription {
  return create(FeatureDescriptionSchema, { name, shortDescription: doc, type: { Type: type } })
}

function inputFeature(i: FunctionInput, spec: number, doc?: string): FeatureDescription {
  const v = i.var
  if (v.type.kind === 'state') {
    const w = v.type.wrapped
    if (!isStatic(w.shape)) throw new FormatError(v.name, 'state shapes must be fixed')
    return feature(
      v.name,
      {
        case: 'stateType',
        value: {
          Type: {
            case: 'arrayType',
            value: { shape: w.shape.map(BigInt), dataType: ioCode(w, v.name, spec) },
          },
        },
      } as FeatureType['Type'],
      doc,
    )
  }
  if (v.type.kind !== 'tensor')
    throw new FormatError(v.name, `function inputs must be tensors or states`)
  const t = v.type
  const dataType = ioCode(t, v.name, spec)
  // A scalar input is described as shape [1].
  const dims = t.shape.length === 0 ? [1] : t.shape
  const flex = i.flexibility
  if (!flex) {
    if (!isStatic(dims))
      throw new FormatError(
        v.name,
        `input shape ${shapeToString(dims)} has unknown dims but no flexibility`,
      )
    return feature(
      v.name,
      {
        case: 'multiArrayType',
        value: { shape: dims.map(BigInt), dataType },
      } as FeatureType['Type'],
      doc,
    )
  }
  const shape = (i.defaultShape ?? dims.map((d) => (typeof d === 'number' ? d : 1))).map(BigInt)
  const ShapeFlexibility =
    flex.kind === 'range'
      ? {
          case: 'shapeRange' as const,
          value: {
            sizeRanges: flex.ranges.map(([lo, hi]) => ({
              lowerBound: BigInt(lo),
              upperBound: BigInt(hi),
            })),
          },
        }
      : {
          case: 'enumeratedShapes' as const,
          value: { shapes: flex.shapes.map((s) => ({ shape: s.map(BigInt) })) },
        }
  return feature(
    v.name,
    { case: 'multiArrayType', value: { shape, dataType, ShapeFlexibility } } as FeatureType['Type'],
    doc,
  )
}

function outputFeature(v: Var, spec: number, doc?: string): FeatureDescription {
  if (v.type.kind !== 'tensor') throw new FormatError(v.name, 'function outputs must be tensors')
  const t = v.type
  const shape = isStatic(t.shape) ? (t.shape.length === 0 ? [1n] : t.shape.map(BigInt)) : []
  return feature(
    v.name,
    {
      case: 'multiArrayType',
      value: { shape, dataType: ioCode(t, v.name, spec) },
    } as FeatureType['Type'],
    doc,
  )
}

function functionFeatures(fn: MilFunction, spec: number) {
  const doc = (n: string) => fn.descriptions[n]
  return {
    input: fn.inputs
      .filter((i) => i.var.type.kind !== 'state')
      .map((i) => inputFeature(i, spec, doc(i.var.name))),
    state: fn.inputs
      .filter((i) => i.var.type.kind === 'state')
      .map((i) => inputFeature(i, spec, doc(i.var.name))),
    output: fn.block.outputs.map((v) => outputFeature(v, spec, doc(v.name))),
  }
}

export function describeModel(model: CoreMLModel): ModelDescription {
  const { program, specVersion: spec, metadata: m } = model
  const metadata = create(MetadataSchema, {
    shortDescription: m.shortDescription ?? '',
    versionString: m.version ?? '',
    author: m.author ?? '',
    license: m.license ?? '',
    userDefined: m.userDefined,
  })
  const multi = program.functions.length > 1 || program.functions[0].name !== 'main'
  if (!multi)
    return create(ModelDescriptionSchema, {
      ...functionFeatures(program.functions[0], spec),
      metadata,
    })
  if (spec < 9)
    throw new FormatError('model', 'multi-function models need specification version 9 (iOS18)')
  return create(ModelDescriptionSchema, {
    functions: program.functions.map((fn) =>
      create(FunctionDescriptionSchema, { name: fn.name, ...functionFeatures(fn, spec) }),
    ),
    defaultFunctionName: program.defaultFunction,
    metadata,
  })
}

export function metadataFromProto(d: ModelDescription | undefined): ModelMetadata {
  const m = d?.metadata
  const meta: ModelMetadata = { userDefined: { ...(m?.userDefined ?? {}) } }
  if (m?.shortDescription) meta.shortDescription = m.shortDescription
  if (m?.versionString) meta.version = m.versionString
  if (m?.author) meta.author = m.author
  if (m?.license) meta.license = m.license
  return meta
}

/** A described feature as the reader needs it: flexibility and the IO dtype it declares. */
export interface FeatureInfo {
  name: string
  doc: string
  dtype?: DType
  shape?: number[]
  flexibility?: FunctionInput['flexibility']
}

export function featureInfo(f: FeatureDescription): FeatureInfo {
  const t = f.type?.Type
  const info: FeatureInfo = { name: f.name, doc: f.shortDescription }
  const arr =
    t?.case === 'multiArrayType'
      ? t.value
      : t?.case === 'stateType' && t.value.Type.case === 'arrayType'
        ? t.value.Type.value
        : undefined
  if (!arr) return info
  info.dtype = IO_CODES.get(arr.dataType)
  info.shape = arr.shape.map(Number)
  const flex = arr.ShapeFlexibility
  if (flex.case === 'shapeRange')
    info.flexibility = {
      kind: 'range',
      ranges: flex.value.sizeRanges.map(
        (r) => [Number(r.lowerBound), Number(r.upperBound)] as const,
      ),
    }
  else if (flex.case === 'enumeratedShapes')
    info.flexibility = {
      kind: 'enumerated',
      shapes: flex.value.shapes.map((s) => s.shape.map(Number)),
    }
  return info
}

/** Function name → its described features (a single-function model describes `main` at the top). */
export function describedFunctions(d: ModelDescription | undefined): Map<string, FeatureInfo[]> {
  const out = new Map<string, FeatureInfo[]>()
  if (!d) return out
  if (d.functions.length > 0) {
    for (const f of d.functions)
      out.set(f.name, [...f.input, ...f.state, ...f.output].map(featureInfo))
  } else out.set('main', [...d.input, ...d.state, ...d.output].map(featureInfo))
  return out
}
