// Program and function attributes of MIL text: `buildInfo` and `FlexibleShapeInformation`.
//
// The compiler writes flexible inputs as a tuple of (kind, {input: value}) pairs (observed in
// fluidaudio-helpers/TransposeEncoder):
//   [FlexibleShapeInformation = tuple<...>((("DefaultShapes", {{"x", [1, 1, 1]}}),
//                                           ("RangeDims", {{"x", [[1, 1], [1, 2048], [1, 2048]]}})))]
// "EnumeratedShapes" has not been seen in a real file; we read a list of shapes or a dict of
// named shapes, and write a list.
import type { Flexibility } from './program.js'
import type { TypedValue } from './text-ast.js'
import { quote, rawToJs } from './text-values.js'

type Fail = (msg: string) => never
type Attrs = readonly (readonly [string, TypedValue])[]

/** The program's `buildInfo` dict (empty when absent). */
export function programBuildInfo(attrs: Attrs, fail: Fail): Record<string, string> {
  const info = attrs.find(([k]) => k === 'buildInfo')?.[1]
  if (!info) return {}
  const pairs = rawToJs(info.value)
  const out: Record<string, string> = {}
  if (!Array.isArray(pairs)) fail('buildInfo must be a dict of strings')
  for (const p of pairs as unknown[]) {
    if (!Array.isArray(p) || typeof p[0] !== 'string' || typeof p[1] !== 'string')
      fail('buildInfo must be a dict of strings')
    out[(p as string[])[0]] = (p as string[])[1]
  }
  return out
}

/** `[buildInfo = dict<string, string>({{"k", "v"}})]`, or '' for an empty buildInfo. */
export function buildInfoText(info: Readonly<Record<string, string>>): string {
  const keys = Object.keys(info).sort()
  if (keys.length === 0) return ''
  const entries = keys.map((k) => `{${quote(k)}, ${quote(info[k])}}`).join(', ')
  return `[buildInfo = dict<string, string>({${entries}})]`
}

export interface InputFlex {
  flexibility?: Flexibility
  defaultShape?: number[]
}

const isShape = (v: unknown): v is number[] =>
  Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && (d as number) >= -1)

/** Flexible-shape facts per input name, from a function's FlexibleShapeInformation attribute. */
export function functionFlexibility(attrs: Attrs, fail: Fail): Map<string, InputFlex> {
  const out = new Map<string, InputFlex>()
  const info = attrs.find(([k]) => k === 'FlexibleShapeInformation')?.[1]
  if (!info) return out
  const bad = (what: string): never => fail(`FlexibleShapeInformation: ${what}`)
  const kinds = rawToJs(info.value)
  if (!Array.isArray(kinds)) bad('expected a tuple')
  const entry = (name: string): InputFlex => out.get(name) ?? out.set(name, {}).get(name)!
  for (const kv of kinds as unknown[]) {
    if (!Array.isArray(kv) || typeof kv[0] !== 'string' || !Array.isArray(kv[1]))
      bad('expected (kind, dict) pairs')
    const [kind, dict] = kv as [string, [unknown, unknown][]]
    for (const pair of dict) {
      if (!Array.isArray(pair) || typeof pair[0] !== 'string') bad(`bad entry in ${kind}`)
      const [name, v] = pair as [string, unknown]
      if (kind === 'DefaultShapes') {
        if (!isShape(v)) bad(`default shape of '${name}'`)
        entry(name).defaultShape = v as number[]
      } else if (kind === 'RangeDims') {
        if (!Array.isArray(v) || !v.every((r) => isShape(r) && r.length === 2))
          bad(`ranges of '${name}'`)
        const ranges = (v as number[][]).map((r) => [r[0], r[1]] as const)
        entry(name).flexibility = { kind: 'range', ranges }
      } else if (kind === 'EnumeratedShapes') {
        const list = Array.isArray(v) ? v.map((s) => (isShape(s) ? s : (s as unknown[])?.[1])) : []
        if (list.length === 0 || !list.every(isShape)) bad(`shapes of '${name}'`)
        entry(name).flexibility = { kind: 'enumerated', shapes: list as number[][] }
      }
    }
  }
  return out
}

const RANGE_TYPE = 'tuple<string, dict<string, list<tensor<int32, [2]>, ?>>>'
const ENUM_TYPE = 'tuple<string, dict<string, list<tensor<int32, [?]>, ?>>>'
const DEFAULT_TYPE = 'tuple<string, dict<string, tensor<int32, [?]>>>'

/** The FlexibleShapeInformation attribute for a function's inputs, or '' if none is flexible. */
export function flexibilityText(
  inputs: readonly { name: string; flexibility?: Flexibility; defaultShape?: readonly number[] }[],
): string {
  const flex = inputs.filter((i) => i.flexibility)
  if (flex.length === 0) return ''
  const list = (s: readonly number[]) => `[${s.join(', ')}]`
  const dict = (f: (i: (typeof flex)[number]) => string, of = flex) =>
    `{${of.map((i) => `{${quote(i.name)}, ${f(i)}}`).join(', ')}}`
  const parts: [string, string][] = []
  const withDefault = flex.filter((i) => i.defaultShape)
  if (withDefault.length)
    parts.push([
      DEFAULT_TYPE,
      `("DefaultShapes", ${dict((i) => list(i.defaultShape!), withDefault)})`,
    ])
  for (const kind of ['range', 'enumerated'] as const) {
    const of = flex.filter((i) => i.flexibility!.kind === kind)
    if (!of.length) continue
    const body = dict((i) => {
      const f = i.flexibility!
      return `[${(f.kind === 'range' ? f.ranges : f.shapes).map(list).join(', ')}]`
    }, of)
    parts.push(
      kind === 'range'
        ? [RANGE_TYPE, `("RangeDims", ${body})`]
        : [ENUM_TYPE, `("EnumeratedShapes", ${body})`],
    )
  }
  const type = `tuple<${parts.map((p) => p[0]).join(', ')}>`
  return `[FlexibleShapeInformation = ${type}((${parts.map((p) => p[1]).join(', ')}))]`
}
