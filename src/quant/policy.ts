// Which weights get a LUT, mirroring what ANEMLL gets from coremltools' palettize_weights with
// OpPalettizerConfig defaults: every constant of rank ≥ 2 with more than 2048 elements, in every
// part, with the part's --lutN setting; 1-D tensors (norm gains, biases) and small ones stay fp16.
import type { LutSpec } from './spec.js'

/**
 * coremltools' OpPalettizerConfig `weight_threshold` default (coremltools 9.0): a constant is
 * compressed only when it has strictly more elements than this.
 */
export const WEIGHT_THRESHOLD = 2048

/** The model part a weight belongs to (ANEMLL parts 1, 2, 2_prefill, 3, and monolithic). */
export type LutPart = 'embeddings' | 'ffn' | 'prefill' | 'lm_head' | 'monolithic'

/** The LUT flags of one conversion: --lut1 (embeddings), --lut2 (FFN/prefill), --lut3 (LM head). */
export interface PartLuts {
  embeddings?: LutSpec
  ffn?: LutSpec
  lmHead?: LutSpec
}

// Monolithic models take --lut for every weight, with the per-component overrides matched by
// name as ANEMLL's convert_monolith.sh matches op names (`embed_tokens`, `lm_head`).
const SPEC_OF_PART: Record<LutPart, (luts: PartLuts, name: string) => LutSpec | undefined> = {
  embeddings: (l) => l.embeddings,
  ffn: (l) => l.ffn,
  prefill: (l) => l.ffn,
  lm_head: (l) => l.lmHead,
  monolithic: (l, name) =>
    (name.includes('embed_tokens') ? l.embeddings : name.includes('lm_head') ? l.lmHead : l.ffn) ??
    l.ffn,
}

/**
 * The LUT setting for weight `name` of `shape` in `part`, or undefined to keep it fp16.
 * As coremltools: rank-1 tensors and tensors of ≤ WEIGHT_THRESHOLD elements stay fp16, and so does
 * a weight whose output channels (axis 0) the group size does not divide (coremltools warns and
 * skips it).
 * @example lutPolicy('model.layers.0.mlp.up_proj.weight', [8192, 2048, 1, 1], 'ffn', { ffn: { bits: 4, groupSize: 8 } })
 */
export function lutPolicy(
  name: string,
  shape: readonly number[],
  part: LutPart,
  luts: PartLuts,
): LutSpec | undefined {
  const spec = SPEC_OF_PART[part](luts, name)
  if (!spec || shape.length < 2) return undefined
  if (shape.reduce((a, b) => a * b, 1) <= WEIGHT_THRESHOLD) return undefined
  if (spec.groupSize > 0 && shape[0] % spec.groupSize !== 0) return undefined
  return spec
}
