// What `anemll inspect` reports about a model: its interface, op histogram, and where the weight
// bytes go (by dtype, and by how they are compressed).
import {
  isConstexprType,
  walkOps,
  type MilFunction,
  type Operation,
  type Var,
} from '../mil/program.js'
import { DTYPES, numel } from '../mil/types.js'
import { isLazy } from '../mil/value.js'
import type { CoreMLModel, ModelMetadata } from './model.js'
import { programSignature, type FunctionSig } from './signature.js'

export interface WeightStat {
  tensors: number
  bytes: number
}

export interface ModelSummary {
  specVersion: number
  opset: string
  defaultFunction: string
  functions: Record<string, FunctionSig & { ops: Record<string, number>; opaqueOps: string[] }>
  /** Stored constant bytes by dtype, counting a blob shared by several functions once. */
  weightsByDtype: Record<string, WeightStat>
  /** Stored constant bytes by compression: dense, lut4, lut6, blockwise, affine, sparse. */
  weightsByCompression: Record<string, WeightStat>
  metadata: ModelMetadata
}

/** How a constant is compressed, judged by the constexpr op that consumes it. */
function compression(v: Var, consumers: Map<Var, Operation[]>): string {
  const c = (consumers.get(v) ?? []).find((op) => isConstexprType(op.type))
  if (!c) return 'dense'
  switch (c.type) {
    case 'constexpr_lut_to_dense': {
      const idx = c.inputs.indices as Var
      if (
        idx.type.kind === 'tensor' &&
        idx.type.dtype.startsWith('uint') &&
        idx.type.dtype !== 'uint8'
      )
        return `lut${DTYPES[idx.type.dtype].bits}`
      if (c.inputs.shape) {
        const lut = c.inputs.lut as Var
        const entries = lut.type.kind === 'tensor' ? Number(lut.type.shape[0]) : 0
        return `lut${Math.log2(entries)}`
      }
      return 'lut8'
    }
    case 'constexpr_blockwise_shift_scale':
      return 'blockwise'
    case 'constexpr_affine_dequantize':
      return 'affine'
    case 'constexpr_sparse_to_dense':
      return 'sparse'
    default:
      return c.type.replace('constexpr_', '')
  }
}

function consumersOf(fn: MilFunction): Map<Var, Operation[]> {
  const m = new Map<Var, Operation[]>()
  for (const op of walkOps(fn.block))
    for (const v of Object.values(op.inputs).flat()) m.set(v, [...(m.get(v) ?? []), op])
  return m
}

export function summarize(model: CoreMLModel): ModelSummary {
  const sigs = programSignature(model.program)
  const byDtype: Record<string, WeightStat> = {}
  const byComp: Record<string, WeightStat> = {}
  const seen = new Set<string | object>()
  const functions: ModelSummary['functions'] = {}
  for (const fn of model.program.functions) {
    const ops: Record<string, number> = {}
    const opaque = new Set<string>()
    const consumers = consumersOf(fn)
    for (const op of walkOps(fn.block)) {
      ops[op.type] = (ops[op.type] ?? 0) + 1
      if (op.opaque) opaque.add(op.type)
      if (op.type !== 'const' || !op.value) continue
      const data = op.value.data
      const key = isLazy(data) && data.key ? data.key : data
      if (seen.has(key)) continue
      seen.add(key)
      const t = op.value.type
      const bytes = Math.ceil((numel(t.shape) * DTYPES[t.dtype].bits) / 8)
      if (!Number.isFinite(bytes) || t.dtype === 'string') continue
      for (const [table, k] of [
        [byDtype, t.dtype],
        [byComp, compression(op.outputs[0], consumers)],
      ] as const) {
        table[k] ??= { tensors: 0, bytes: 0 }
        table[k].tensors++
        table[k].bytes += bytes
      }
    }
    functions[fn.name] = { ...sigs[fn.name], ops, opaqueOps: [...opaque].sort() }
  }
  return {
    specVersion: model.specVersion,
    opset: model.program.functions[0].opset,
    defaultFunction: model.program.defaultFunction,
    functions,
    weightsByDtype: byDtype,
    weightsByCompression: byComp,
    metadata: model.metadata,
  }
}
