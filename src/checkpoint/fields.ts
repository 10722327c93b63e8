// A tiny schema for JSON configs: each key has a validator and a default, listed in a table.

/** Validates one JSON value. `check` for plain values; `parse` when the value is transformed. */
export interface Field<T = unknown> {
  /** What a valid value is, for messages ("a positive integer"). */
  want: string
  check?: (v: unknown) => boolean
  parse?: (v: unknown, ctx: { fail: Fail }) => T
  /** null is a value, not "missing". */
  nullable?: boolean
}

export type Fail = (key: string, problem: string) => never

/** A default: a value, 'required', or computed from the keys parsed before it. */
export type Default =
  | 'required'
  | ((parsed: Record<string, unknown>, fail: Fail, raw: Record<string, unknown>) => unknown)
  | string
  | number
  | boolean
  | null
  | unknown[]

/** Ordered [key, field, default] rows; computed defaults may read earlier keys. */
export type Spec = [key: string, field: Field, dflt: Default][]

const isInt = (v: unknown): v is number => Number.isSafeInteger(v)

export const size: Field<number> = { want: 'a positive integer', check: (v) => isInt(v) && v > 0 }
export const positive: Field<number> = {
  want: 'a positive finite number',
  check: (v) => typeof v === 'number' && Number.isFinite(v) && v > 0,
}
export const nonNegative: Field<number> = {
  want: 'a finite number >= 0',
  check: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
}
export const finite: Field<number> = {
  want: 'a finite number',
  check: (v) => typeof v === 'number' && Number.isFinite(v),
}
export const unit: Field<number> = {
  want: 'a number in (0, 1]',
  check: (v) => typeof v === 'number' && v > 0 && v <= 1,
}
export const count: Field<number> = { want: 'an integer >= 0', check: (v) => isInt(v) && v >= 0 }
export const bool: Field<boolean> = { want: 'true or false', check: (v) => typeof v === 'boolean' }
export const str: Field<string> = { want: 'a string', check: (v) => typeof v === 'string' }
export const strings: Field<string[]> = {
  want: 'a list of strings',
  check: (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
}
export const tokenId: Field<number | null> = {
  ...count,
  want: 'a token id or null',
  nullable: true,
}
/** A token id or a list of them; always parsed to a list. */
export const tokenIds: Field<number[]> = {
  want: 'a token id or a list of token ids',
  nullable: true,
  parse: (v, { fail }) => {
    const list = v === null ? [] : Array.isArray(v) ? v : [v]
    if (!list.every((x) => isInt(x) && x >= 0)) fail('', 'bad')
    return list as number[]
  },
}

/** Renders a bad value for a message: NaN stays NaN, strings are quoted, objects shortened. */
export function show(v: unknown): string {
  if (typeof v === 'number') return String(v)
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

/** Validates `raw` against `spec`; returns only the spec's keys, defaults filled in. */
export function applySpec(
  spec: Spec,
  raw: Record<string, unknown>,
  fail: Fail,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, field, dflt] of spec) {
    const v = raw[key]
    const missing = v === undefined || (v === null && !field.nullable)
    if (missing) {
      if (dflt === 'required') fail(key, 'is missing')
      out[key] = typeof dflt === 'function' ? dflt(out, fail, raw) : dflt
      continue
    }
    const bad = (): never => fail(key, `must be ${field.want}, got ${show(v)}`)
    if (field.parse) {
      out[key] = field.parse(v, { fail: (k, p) => (k ? fail(k, p) : bad()) })
    } else {
      if (v !== null && !field.check?.(v)) bad()
      out[key] = v
    }
  }
  return out
}
