// The op table: every op we build, write, read, print and (later) execute is declared once here.
import type { OpSpec } from '../op-spec.js'
import { OPSETS, type Opset } from '../types.js'
import * as attention from './attention.js'
import * as constexpr from './constexpr.js'
import * as elementwise from './elementwise.js'
import * as indexing from './indexing.js'
import * as interop from './interop.js'
import * as legacy from './legacy.js'
import * as linear from './linear.js'
import * as reduction from './reduction.js'
import * as shape from './shape.js'
import * as state from './state.js'

/** Current (iOS18-opset) definitions, keyed by op type; the builder gets one method per entry. */
export const OPS = {
  ...elementwise,
  ...linear,
  ...reduction,
  ...shape,
  ...indexing,
  ...state,
  ...attention,
  ...constexpr,
} as const

export type OpType = keyof typeof OPS

/** Every definition, older ones included, grouped by op type and sorted newest first. */
const VARIANTS = new Map<string, OpSpec[]>()
// interop ops are read and written but neither built nor run (no builder method, no kernel).
for (const spec of [
  ...Object.values(OPS),
  ...Object.values(legacy),
  ...Object.values(interop),
] as OpSpec[]) {
  const list = VARIANTS.get(spec.type) ?? []
  list.push(spec)
  list.sort((a, b) => OPSETS[b.since].order - OPSETS[a.since].order)
  VARIANTS.set(spec.type, list)
}

/**
 * The definition of `type` in force for `opset`: the newest one introduced at or before it.
 * We keep only the iOS17 definition of ops that iOS17 widened (conv, reshape, gather, ...); it
 * accepts everything the iOS15/16 ones did, so older programs fall back to it. Ops new in iOS18
 * (slice_update, read_state, ...) do not exist before it. Undefined for unknown ops.
 */
export function lookupOp(type: string, opset: Opset = 'ios18'): OpSpec | undefined {
  const variants = VARIANTS.get(type)
  if (!variants) return undefined
  const order = OPSETS[opset].order
  const found = variants.find((s) => OPSETS[s.since].order <= order)
  if (found) return found
  const oldest = variants[variants.length - 1]
  return oldest.since === 'ios18' ? undefined : oldest
}

/** All op types we know, for listings (`anemll inspect`, docs). */
export const knownOpTypes = (): string[] => [...VARIANTS.keys(), 'const'].sort()

export { isConstexprType } from '../program.js'
