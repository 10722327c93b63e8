// LUT (palettization) quantization: flag parsing, which weights get a LUT, and the palettizer.
import { palettize, type Palettized } from './palettize.js'
import type { LutSpec } from './spec.js'

export { palettize, type Palettized, type PalettizeOptions } from './palettize.js'
export { palettizeReference } from './reference.js'
export { lutPolicy, WEIGHT_THRESHOLD, type LutPart, type PartLuts } from './policy.js'
export {
  DEFAULT_GROUP_SIZE,
  LUT_BITS,
  lutLayout,
  parseLutSpec,
  type LutBits,
  type LutSpec,
} from './spec.js'
export { kernelName } from './native.js'
export { closePool, warmPool } from './pool.js'

/**
 * The converter's quantizer (WeightBank calls it once per palettized weight). The k-means has
 * no random initialisation (an exact DP over bins, then Lloyd), so every seed gives the same
 * bytes; `seed` is accepted so a `--seed` flag stays harmless.
 */
export function palettizer(
  _seed = 0,
): (
  values: Float32Array,
  shape: number[],
  spec: { bits: number; groupSize: number },
  name?: string,
  importance?: Float64Array,
) => Palettized {
  // palettize validates the bits (UsageError), so the wider spec type is safe to pass on.
  return (values, shape, spec, _name, importance) =>
    palettize(values, shape, spec as LutSpec, importance ? { importance } : {})
}
