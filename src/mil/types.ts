// MIL value types: dtypes, tensor/state/list/tuple/dict types, and the opsets we target.

/** Every MIL element type. Sub-byte types (uint1..uint6, int4) occur as LUT indices and packed weights. */
export type DType =
  | 'bool'
  | 'string'
  | 'fp16'
  | 'fp32'
  | 'fp64'
  | 'bf16'
  | 'int4'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint1'
  | 'uint2'
  | 'uint3'
  | 'uint4'
  | 'uint6'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'

type Kind = 'bool' | 'string' | 'float' | 'int' | 'uint'

/** One row per dtype: its family and its size in bits (0 for string). */
export const DTYPES: Readonly<Record<DType, { kind: Kind; bits: number }>> = {
  bool: { kind: 'bool', bits: 8 },
  string: { kind: 'string', bits: 0 },
  fp16: { kind: 'float', bits: 16 },
  fp32: { kind: 'float', bits: 32 },
  fp64: { kind: 'float', bits: 64 },
  bf16: { kind: 'float', bits: 16 },
  int4: { kind: 'int', bits: 4 },
  int8: { kind: 'int', bits: 8 },
  int16: { kind: 'int', bits: 16 },
  int32: { kind: 'int', bits: 32 },
  int64: { kind: 'int', bits: 64 },
  uint1: { kind: 'uint', bits: 1 },
  uint2: { kind: 'uint', bits: 2 },
  uint3: { kind: 'uint', bits: 3 },
  uint4: { kind: 'uint', bits: 4 },
  uint6: { kind: 'uint', bits: 6 },
  uint8: { kind: 'uint', bits: 8 },
  uint16: { kind: 'uint', bits: 16 },
  uint32: { kind: 'uint', bits: 32 },
  uint64: { kind: 'uint', bits: 64 },
}

export const isFloat = (d: DType): boolean => DTYPES[d].kind === 'float'
export const isInteger = (d: DType): boolean =>
  DTYPES[d].kind === 'int' || DTYPES[d].kind === 'uint'
export const isSubByte = (d: DType): boolean => DTYPES[d].bits > 0 && DTYPES[d].bits < 8
export function isDType(s: string): s is DType {
  return Object.hasOwn(DTYPES, s)
}

/** A dimension: a fixed size, or a symbol (flexible input dims, runtime-shaped results). */
export type Dim = number | string

export interface TensorType {
  readonly kind: 'tensor'
  readonly dtype: DType
  /** Row-major; `[]` is a scalar. */
  readonly shape: readonly Dim[]
}
export interface StateType {
  readonly kind: 'state'
  readonly wrapped: TensorType
}
export interface ListType {
  readonly kind: 'list'
  readonly elem: ValueType
  readonly length: Dim
}
export interface TupleType {
  readonly kind: 'tuple'
  readonly types: readonly ValueType[]
}
export interface DictType {
  readonly kind: 'dict'
  readonly key: ValueType
  readonly value: ValueType
}
export type ValueType = TensorType | StateType | ListType | TupleType | DictType

export const tensor = (dtype: DType, shape: readonly Dim[] = []): TensorType => ({
  kind: 'tensor',
  dtype,
  shape: [...shape],
})
export const state = (wrapped: TensorType): StateType => ({ kind: 'state', wrapped })

export const isStatic = (shape: readonly Dim[]): shape is readonly number[] =>
  shape.every((d) => typeof d === 'number')

export function numel(shape: readonly Dim[]): number {
  let n = 1
  for (const d of shape) {
    if (typeof d !== 'number') return NaN
    n *= d
  }
  return n
}

export function shapeToString(shape: readonly Dim[]): string {
  return `[${shape.join(', ')}]`
}

/** `tensor<fp16, [1, 64]>`, `state<tensor<fp16, [..]>>`: the spelling of compiled MIL text. */
export function typeToString(t: ValueType): string {
  switch (t.kind) {
    case 'tensor':
      return `tensor<${t.dtype}, ${shapeToString(t.shape)}>`
    case 'state':
      return `state<${typeToString(t.wrapped)}>`
    case 'list':
      return `list<${typeToString(t.elem)}, ${t.length}>`
    case 'tuple':
      return `tuple<${t.types.map(typeToString).join(', ')}>`
    case 'dict':
      return `dict<${typeToString(t.key)}, ${typeToString(t.value)}>`
  }
}

export function sameType(a: ValueType, b: ValueType): boolean {
  return typeToString(a) === typeToString(b)
}

/** iOS deployment targets of ML Programs; each fixes the spec version and opset name (format doc §3). */
export type Opset = 'ios15' | 'ios16' | 'ios17' | 'ios18'

export const OPSETS: Readonly<
  Record<Opset, { specVersion: number; proto: string; order: number }>
> = {
  ios15: { specVersion: 6, proto: 'CoreML5', order: 15 },
  ios16: { specVersion: 7, proto: 'CoreML6', order: 16 },
  ios17: { specVersion: 8, proto: 'CoreML7', order: 17 },
  ios18: { specVersion: 9, proto: 'CoreML8', order: 18 },
}

export function opsetFromProto(name: string): Opset | undefined {
  return (Object.keys(OPSETS) as Opset[]).find((o) => OPSETS[o].proto === name)
}
