// Strict-fp16 mode: after an op's output is rounded to fp16, finds values that overflowed to
// ±Infinity or turned NaN although none of the op's float inputs had such values.
import { AnemllError } from '../util/errors.js'
import { scanNonFinite } from './round.js'
import { isFloatDType, shapeText, type Tensor } from './tensor.js'

/** The first op whose fp16 output went out of range. */
export interface Fp16Issue {
  /** The output var's name (e.g. `layers_3_mlp_down`). */
  readonly varName: string
  readonly opType: string
  readonly kind: 'overflow' | 'nan'
  /** Flat index of the first offending element, and the output's shape. */
  readonly index: number
  readonly shape: readonly number[]
  /** The offending element (±Infinity or NaN). */
  readonly value: number
}

export class Fp16RangeError extends AnemllError {
  override name = 'Fp16RangeError'
  constructor(readonly issue: Fp16Issue) {
    super(
      `fp16 ${issue.kind === 'overflow' ? 'overflow' : 'NaN'} in ${issue.opType} '${issue.varName}': element ${issue.index} of ${shapeText(issue.shape)} is ${issue.value}`,
    )
  }
}

/** Returns the issue of `out` (an output of op `opType`), given the op's input tensors. */
export function fp16Issue(
  varName: string,
  opType: string,
  out: Tensor,
  inputs: readonly Tensor[],
): Fp16Issue | undefined {
  if (!isFloatDType(out.dtype)) return undefined
  const o = scanNonFinite(out.data as Float32Array)
  if (o.inf < 0 && o.nan < 0) return undefined
  let inInf = false
  let inNaN = false
  for (const t of inputs) {
    if (!isFloatDType(t.dtype)) continue
    const s = scanNonFinite(t.data as Float32Array)
    inInf ||= s.inf >= 0
    inNaN ||= s.nan >= 0
  }
  const base = { varName, opType, shape: out.shape }
  if (o.inf >= 0 && !inInf)
    return { ...base, kind: 'overflow', index: o.inf, value: (out.data as Float32Array)[o.inf] }
  if (o.nan >= 0 && !inNaN) return { ...base, kind: 'nan', index: o.nan, value: NaN }
  return undefined
}
