// MIL types and constant values ⇄ their protobuf messages (format doc §2.10–§2.13).
import {
  create,
  DataType,
  DimensionSchema,
  TensorTypeSchema,
  TensorValueSchema,
  ValueSchema,
  ValueTypeSchema,
  type TensorValue as PbTensorValue,
  type Value as PbValue,
  type ValueType as PbValueType,
} from '../formats/proto/index.js'
import type { MessageInitShape } from '@bufbuild/protobuf'
import { FormatError } from '../util/errors.js'
import { encodeValues } from '../mil/builder.js'
import { DTYPES, numel, type Dim, type DType, type ValueType } from '../mil/types.js'
import {
  allocate,
  checkData,
  materialize,
  PackedBits,
  type ArrayData,
  type TensorValue,
} from '../mil/value.js'

/** MIL dtype ⇄ proto DataType code, one row each. */
const DTYPE_CODES: Readonly<Record<DType, DataType>> = {
  bool: DataType.BOOL,
  string: DataType.STRING,
  fp16: DataType.FLOAT16,
  fp32: DataType.FLOAT32,
  fp64: DataType.FLOAT64,
  bf16: DataType.BFLOAT16,
  int4: DataType.INT4,
  int8: DataType.INT8,
  int16: DataType.INT16,
  int32: DataType.INT32,
  int64: DataType.INT64,
  uint1: DataType.UINT1,
  uint2: DataType.UINT2,
  uint3: DataType.UINT3,
  uint4: DataType.UINT4,
  uint6: DataType.UINT6,
  uint8: DataType.UINT8,
  uint16: DataType.UINT16,
  uint32: DataType.UINT32,
  uint64: DataType.UINT64,
}
const CODE_DTYPES = new Map<number, DType>(
  Object.entries(DTYPE_CODES).map(([k, v]) => [v, k as DType]),
)

export const dtypeToProto = (d: DType): DataType => DTYPE_CODES[d]

export function dtypeFromProto(code: number, file: string): DType {
  const d = CODE_DTYPES.get(code)
  if (!d) throw new FormatError(file, `unsupported MIL data type code ${code}`)
  return d
}

export function typeToProto(t: ValueType): PbValueType {
  switch (t.kind) {
    case 'tensor':
      return create(ValueTypeSchema, {
        type: {
          case: 'tensorType',
          value: create(TensorTypeSchema, {
            dataType: DTYPE_CODES[t.dtype],
            rank: BigInt(t.shape.length),
            dimensions: t.shape.map((d) =>
              create(DimensionSchema, {
                dimension:
                  typeof d === 'number'
                    ? { case: 'constant', value: { size: BigInt(d) } }
                    : { case: 'unknown', value: { variadic: false } },
              }),
            ),
          }),
        },
      })
    case 'state':
      return create(ValueTypeSchema, {
        type: { case: 'stateType', value: { wrappedType: typeToProto(t.wrapped) } },
      })
    case 'list':
      return create(ValueTypeSchema, {
        type: {
          case: 'listType',
          value: {
            type: typeToProto(t.elem),
            length: create(DimensionSchema, {
              dimension:
                typeof t.length === 'number'
                  ? { case: 'constant', value: { size: BigInt(t.length) } }
                  : { case: 'unknown', value: { variadic: false } },
            }),
          },
        },
      })
    case 'tuple':
      return create(ValueTypeSchema, {
        type: { case: 'tupleType', value: { types: t.types.map(typeToProto) } },
      })
    case 'dict':
      return create(ValueTypeSchema, {
        type: {
          case: 'dictionaryType',
          value: { keyType: typeToProto(t.key), valueType: typeToProto(t.value) },
        },
      })
  }
}

/** Names given to unknown dims while reading, so shapes stay distinguishable. */
export function typeFromProto(t: PbValueType | undefined, file: string, where: string): ValueType {
  const c = t?.type
  if (!c || c.case === undefined) throw new FormatError(file, `${where}: missing value type`)
  switch (c.case) {
    case 'tensorType': {
      const tt = c.value
      const rank = Number(tt.rank)
      if (rank < 0) throw new FormatError(file, `${where}: variable-rank tensors are not supported`)
      if (rank !== tt.dimensions.length)
        throw new FormatError(file, `${where}: rank ${rank} but ${tt.dimensions.length} dimensions`)
      const shape: Dim[] = tt.dimensions.map((d, i) => {
        if (d.dimension.case === 'constant') {
          const n = d.dimension.value.size
          if (n > BigInt(Number.MAX_SAFE_INTEGER))
            throw new FormatError(file, `${where}: dimension ${i} is ${n}`)
          return Number(n)
        }
        if (d.dimension.case === 'unknown' && !d.dimension.value.variadic) return '?'
        throw new FormatError(file, `${where}: unsupported dimension ${i}`)
      })
      return { kind: 'tensor', dtype: dtypeFromProto(tt.dataType, file), shape }
    }
    case 'stateType': {
      const w = typeFromProto(c.value.wrappedType, file, where)
      if (w.kind !== 'tensor') throw new FormatError(file, `${where}: a state must wrap a tensor`)
      return { kind: 'state', wrapped: w }
    }
    case 'listType': {
      const len = c.value.length?.dimension
      return {
        kind: 'list',
        elem: typeFromProto(c.value.type, file, where),
        length: len?.case === 'constant' ? Number(len.value.size) : '?',
      }
    }
    case 'tupleType':
      return { kind: 'tuple', types: c.value.types.map((x) => typeFromProto(x, file, where)) }
    case 'dictionaryType':
      return {
        kind: 'dict',
        key: typeFromProto(c.value.keyType, file, where),
        value: typeFromProto(c.value.valueType, file, where),
      }
  }
}

/** Raw little-endian bytes of stored data (fp16 bits, packed sub-byte streams, plain arrays). */
export function dataBytes(d: ArrayData): Uint8Array {
  if (d instanceof PackedBits) return d.bytes
  if (Array.isArray(d)) throw new Error('string data has no byte form')
  const v = d as Exclude<ArrayData, PackedBits | string[]>
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
}

/** Data from raw bytes in the storage form of `dtype` (copies, so the result is aligned). */
export function dataFromBytes(dtype: DType, bytes: Uint8Array, n: number): ArrayData {
  const bits = DTYPES[dtype].bits
  if (bits < 8 && dtype !== 'bool') return new PackedBits(bytes.slice(), bits, n, dtype === 'int4')
  const out = allocate(dtype, n) as Exclude<ArrayData, PackedBits | string[]>
  new Uint8Array(out.buffer).set(bytes.subarray(0, out.byteLength))
  return out
}

/** Inline TensorValue member per dtype (format doc §2.13). */
function inlineTensor(v: TensorValue): PbTensorValue {
  const d = materialize(v)
  const dt = v.type.dtype
  const value = ((): NonNullable<MessageInitShape<typeof TensorValueSchema>['value']> => {
    switch (dt) {
      case 'fp32':
        return { case: 'floats', value: { values: Array.from(d as Float32Array) } }
      case 'fp64':
        return { case: 'doubles', value: { values: Array.from(d as Float64Array) } }
      case 'bool':
        return { case: 'bools', value: { values: Array.from(d as Uint8Array, (x) => x !== 0) } }
      case 'string':
        return { case: 'strings', value: { values: [...(d as string[])] } }
      case 'int32':
      case 'int16':
      case 'uint16':
        return { case: 'ints', value: { values: Array.from(d as Int32Array) } }
      case 'int64':
      case 'uint64':
        return {
          case: 'longInts',
          value: { values: Array.from(d as BigInt64Array, (x) => BigInt(x)) },
        }
      default:
        return { case: 'bytes', value: { values: dataBytes(d).slice() } }
    }
  })()
  return create(TensorValueSchema, { value })
}

export function immediateValue(v: TensorValue): PbValue {
  return create(ValueSchema, {
    type: typeToProto(v.type),
    value: { case: 'immediateValue', value: { value: { case: 'tensor', value: inlineTensor(v) } } },
  })
}

export function blobValue(v: TensorValue, fileName: string, offset: number): PbValue {
  return create(ValueSchema, {
    type: typeToProto(v.type),
    value: { case: 'blobFileValue', value: { fileName, offset: BigInt(offset) } },
  })
}

export const stringValue = (s: string): PbValue =>
  immediateValue({ type: { kind: 'tensor', dtype: 'string', shape: [] }, data: [s] })

/** Decodes an immediate tensor literal; checks the element count against the declared shape. */
export function decodeImmediate(pb: PbValue, file: string, where: string): TensorValue {
  const type = typeFromProto(pb.type, file, where)
  if (type.kind !== 'tensor')
    throw new FormatError(file, `${where}: only tensor literals are supported, got ${type.kind}`)
  if (pb.value.case !== 'immediateValue' || pb.value.value.value.case !== 'tensor')
    throw new FormatError(file, `${where}: expected an immediate tensor value`)
  const tv = pb.value.value.value.value.value
  const n = numel(type.shape)
  if (!Number.isFinite(n)) throw new FormatError(file, `${where}: literal with unknown dimensions`)
  const dt = type.dtype
  let data: ArrayData
  switch (tv.case) {
    case 'floats':
      data =
        dt === 'fp16' ? encodeValues('fp16', tv.value.values) : Float32Array.from(tv.value.values)
      break
    case 'doubles':
      data = Float64Array.from(tv.value.values)
      break
    case 'ints':
      data = encodeValues(dt, tv.value.values)
      break
    case 'longInts':
      data = encodeValues(dt, tv.value.values.map(Number))
      break
    case 'bools':
      data = Uint8Array.from(tv.value.values, (b) => (b ? 1 : 0))
      break
    case 'strings':
      data = [...tv.value.values]
      break
    case 'bytes': {
      const bytes = tv.value.values
      const need = Math.ceil((n * DTYPES[dt].bits) / 8)
      if (bytes.length !== need)
        throw new FormatError(
          file,
          `${where}: ${bytes.length} bytes for ${n} ${dt} values (expected ${need})`,
        )
      data = dataFromBytes(dt, bytes, n)
      break
    }
    default:
      throw new FormatError(file, `${where}: empty tensor literal`)
  }
  // A scalar written as one element of a rank-0 type, or an empty member for a zero-size tensor.
  const problem = checkData(type, data)
  if (problem) throw new FormatError(file, `${where}: literal ${problem}`)
  return { type, data }
}
