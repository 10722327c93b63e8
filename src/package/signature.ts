// A model's interface as plain data: per function, the inputs, outputs and states with their
// dtypes and shapes. Used by `anemll inspect`, by the contract checks and by oracle tests.
import { stateInputs, tensorInputs, type Var } from '../mil/program.js'
import type { Program } from '../mil/program.js'

export interface TensorSig {
  name: string
  dtype: string
  /** null marks an unknown dimension. */
  shape: (number | null)[]
}

export interface FunctionSig {
  inputs: TensorSig[]
  outputs: TensorSig[]
  states: TensorSig[]
}

function sig(v: Var): TensorSig {
  const t = v.type.kind === 'state' ? v.type.wrapped : v.type
  if (t.kind !== 'tensor') return { name: v.name, dtype: t.kind, shape: [] }
  return {
    name: v.name,
    dtype: t.dtype,
    shape: t.shape.map((d) => (typeof d === 'number' ? d : null)),
  }
}

export function programSignature(p: Program): Record<string, FunctionSig> {
  return Object.fromEntries(
    p.functions.map((f) => [
      f.name,
      {
        inputs: tensorInputs(f).map((i) => sig(i.var)),
        outputs: f.block.outputs.map(sig),
        states: stateInputs(f).map(sig),
      },
    ]),
  )
}
