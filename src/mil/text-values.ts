// Literals of MIL text ⇄ tensor values: `tensor<int32, [2]>([1, 1])`, `fp16(0x1p-4)`,
// `string("valid")`. Floats are written as C99 hex floats, which round-trip exactly.
import { bf16ToFloat, floatToBf16, floatToHalf, halfToFloat } from '../util/fp16.js'
import { numberValue } from './text-lexer.js'
import type { RawValue } from './text-ast.js'
import {
  DTYPES,
  numel,
  typeToString,
  type DType,
  type TensorType,
  type ValueType,
} from './types.js'
import { allocate, PackedBits, type ArrayData, type TensorValue } from './value.js'

/** A MIL type as the current printer spells it: scalars as a bare dtype, unknown dims as `?`. */
export function typeText(t: ValueType): string {
  switch (t.kind) {
    case 'tensor':
      if (t.shape.length === 0) return t.dtype
      return `tensor<${t.dtype}, [${t.shape.map((d) => (typeof d === 'number' ? d : '?')).join(', ')}]>`
    case 'state':
      return `state<${typeText(t.wrapped)}>`
    case 'list':
      return `list<${typeText(t.elem)}, ${typeof t.length === 'number' ? t.length : '?'}>`
    case 'tuple':
      return `tuple<${t.types.map(typeText).join(', ')}>`
    case 'dict':
      return `dict<${typeText(t.key)}, ${typeText(t.value)}>`
  }
}

/** `0x1.8p+1`, `-0x1p-4`, `0x0p+0`, `inf`, `nan`: the C99 `%a` spelling of a double. */
export function hexFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan'
  if (!Number.isFinite(v)) return v < 0 ? '-inf' : 'inf'
  const sign = v < 0 || Object.is(v, -0) ? '-' : ''
  if (v === 0) return `${sign}0x0p+0`
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, Math.abs(v))
  const hi = view.getUint32(0)
  let exp = hi >>> 20
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4))
  if (exp === 0) {
    // Subnormal double: normalize so the leading digit is 1.
    exp = 1
    while (!(mant & (1n << 52n))) {
      mant <<= 1n
      exp--
    }
    mant &= (1n << 52n) - 1n
  }
  const e = exp - 1023
  const digits = mant.toString(16).padStart(13, '0').replace(/0+$/, '')
  return `${sign}0x1${digits ? '.' + digits : ''}p${e < 0 ? '' : '+'}${e}`
}

const ESCAPE: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\t': '\\t',
  '\r': '\\r',
}

/** A string literal with `"`, `\` and control characters escaped. */
export function quote(s: string): string {
  const body = s.replace(
    /["\\\x00-\x1f]/g,
    (c) => ESCAPE[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  )
  return `"${body}"`
}

/** Element i of stored data, spelled as a literal of `dtype`. */
function elementText(dtype: DType, d: ArrayData, i: number): string {
  if (d instanceof PackedBits) return String(d.get(i))
  const x = d[i]
  if (typeof x === 'string') return quote(x)
  if (typeof x === 'bigint') return x.toString()
  if (dtype === 'bool') return x ? 'true' : 'false'
  if (dtype === 'fp16') return hexFloat(halfToFloat(x))
  if (dtype === 'bf16') return hexFloat(bf16ToFloat(x))
  if (DTYPES[dtype].kind === 'float') return hexFloat(x)
  return String(x)
}

/** `tensor<int32, [2]>([1, 1])`, or `int32(1)` for a scalar; tensors are printed flat. */
export function literalText(type: TensorType, data: ArrayData): string {
  const n = data instanceof PackedBits ? data.length : data.length
  const items: string[] = []
  for (let i = 0; i < n; i++) items.push(elementText(type.dtype, data, i))
  const body = type.shape.length === 0 ? (items[0] ?? '') : `[${items.join(', ')}]`
  return `${typeText(type)}(${body})`
}

/** Leaves of a literal in row-major order: `[[1, 2], [3, 4]]` and `[1, 2, 3, 4]` read alike. */
function flatten(raw: RawValue, out: RawValue[], fail: (msg: string) => never): RawValue[] {
  if (raw.kind === 'array' || raw.kind === 'tuple') for (const r of raw.items) flatten(r, out, fail)
  else if (raw.kind === 'typed') flatten(raw.value, out, fail)
  else if (raw.kind === 'dict' || raw.kind === 'blob') fail(`a ${raw.kind} is not a tensor element`)
  else out.push(raw)
  return out
}

const INT_RANGE = (dtype: DType): [number, number] => {
  const { kind, bits } = DTYPES[dtype]
  return kind === 'uint' ? [0, 2 ** bits - 1] : [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1]
}

/**
 * The tensor value a literal denotes, checked against its type: element count, element kinds and
 * integer ranges. `fail` throws the caller's positioned error.
 */
export function tensorFromRaw(
  type: TensorType,
  raw: RawValue,
  fail: (msg: string) => never,
): TensorValue {
  const items = flatten(raw, [], fail)
  const n = numel(type.shape)
  if (items.length !== n)
    fail(
      `${typeToString(type)} needs ${Number.isNaN(n) ? 'a static shape' : `${n} values`}, got ${items.length}`,
    )
  const dtype = type.dtype
  const { kind, bits } = DTYPES[dtype]
  const bad = (r: RawValue): never =>
    fail(
      `${r.kind === 'number' ? r.text : r.kind === 'string' ? JSON.stringify(r.value) : r.kind} is not a ${dtype} value`,
    )
  if (dtype === 'string')
    return { type, data: items.map((r) => (r.kind === 'string' ? r.value : bad(r))) }
  if (dtype === 'int64' || dtype === 'uint64') {
    const out = dtype === 'int64' ? new BigInt64Array(n) : new BigUint64Array(n)
    items.forEach((r, i) => {
      if (r.kind !== 'number' || !/^-?\d+$/.test(r.text)) bad(r)
      const v = BigInt((r as { text: string }).text)
      if ((dtype === 'int64' ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v)) !== v) bad(r)
      out[i] = v
    })
    return { type, data: out }
  }
  const nums = items.map((r) => {
    if (r.kind === 'bool' && (dtype === 'bool' || kind !== 'float')) return r.value ? 1 : 0
    if (r.kind !== 'number' || dtype === 'bool') return bad(r)
    const v = numberValue(r.text)
    if (kind !== 'float') {
      const [lo, hi] = INT_RANGE(dtype)
      if (!Number.isInteger(v) || v < lo || v > hi) bad(r)
    }
    return v
  })
  if (dtype === 'fp16') return { type, data: Uint16Array.from(nums, floatToHalf) }
  if (dtype === 'bf16') return { type, data: Uint16Array.from(nums, floatToBf16) }
  if (bits < 8 && kind !== 'bool')
    return { type, data: PackedBits.pack(nums, bits, dtype === 'int4') }
  const data = allocate(dtype, n) as Exclude<
    ArrayData,
    PackedBits | string[] | BigInt64Array | BigUint64Array
  >
  nums.forEach((v, i) => (data[i] = v))
  return { type, data }
}

/** A literal as plain JS (numbers, strings, booleans, arrays; dicts as [key, value] pairs). */
export function rawToJs(raw: RawValue): unknown {
  switch (raw.kind) {
    case 'number':
      return numberValue(raw.text)
    case 'string':
    case 'bool':
      return raw.value
    case 'array':
    case 'tuple':
      return raw.items.map(rawToJs)
    case 'dict':
      return raw.entries.map(([k, v]) => [rawToJs(k), rawToJs(v)])
    case 'typed':
      return rawToJs(raw.value)
    case 'blob':
      return { path: rawToJs(raw.path), offset: rawToJs(raw.offset) }
  }
}
