// fp16 preflight: runs calibration tokens through the model as converted (fp16 weights, fp16
// activations, our executor) and watches the residual stream, which is where pre-norm
// transformers outgrow fp16's ±65504 (ANEMLL 0.3.5 §2.5). When it overflows, or peaks too close
// to the limit, the weight-only remedy scales every residual update by α: the embeddings and the
// writers of the residual updates are multiplied by α (each architecture's layer graph says which:
// o_proj / down_proj for the pre-norm family). RMSNorm is scale-invariant and the final norm
// removes the global factor, so the model computes the same function (up to eps) with a residual
// stream α times smaller.
import { createState, loadFunction, makeTensor } from '../runtime/index.js'
import type { Tensor } from '../runtime/index.js'
import type { CoreMLModel } from '../package/model.js'
import { monolithicModel, type PartOptions } from './parts.js'

/** Peak |residual| we aim for after scaling (ANEMLL's rule of thumb: α = 50000 / peak). */
export const TARGET_PEAK = 50000
const FP16_MAX = 65504

export interface PreflightResult {
  /** Largest |value| on the residual stream; Infinity when it overflowed fp16. */
  peak: number
  /** The first residual var that overflowed (or turned NaN), if any. */
  overflowAt?: string
}

const isResidual = (v: string) => /_(attn|mlp)_residual$/.test(v) || v === 'hidden_channels'

function peakOf(t: Tensor): number {
  let m = 0
  const d = t.data as Float32Array
  for (let i = 0; i < d.length; i++) {
    const a = Math.abs(d[i])
    if (!(a <= m)) m = a // NaN and Inf win
  }
  return m
}

/**
 * Runs `tokens` one by one through `model`'s infer function (a monolithic fp16 build), in windows
 * of `context` tokens each from an empty cache, reporting the watched vars to `onVar`.
 */
export function runTokens(
  model: CoreMLModel,
  context: number,
  tokens: number[],
  watch: (name: string) => boolean,
  onVar: (name: string, value: Tensor) => void,
): void {
  const infer = loadFunction(model, 'infer')
  let state = createState(infer)
  tokens.forEach((tok, i) => {
    const pos = i % context
    if (pos === 0 && i > 0) state = createState(infer)
    const mask = new Float32Array(context).map((_, j) => (j <= pos ? 0 : -Infinity))
    infer.run(
      {
        input_ids: makeTensor('int32', [1, 1], [tok]),
        position_ids: makeTensor('int32', [1], [pos]),
        causal_mask: makeTensor('fp16', [1, 1, 1, context], mask),
        current_pos: makeTensor('int32', [1], [pos]),
      },
      state,
      { watch, onVar },
    )
  })
}

/**
 * Runs `tokens` one by one through an in-memory fp16 build of the whole model (no LUT) and
 * reports the residual stream's peak. `parts.weights` may already carry a scale.
 */
export function measureResidualPeak(parts: PartOptions, tokens: number[]): PreflightResult {
  const model = monolithicModel({ ...parts, lut: {}, argmax: false })
  const C = parts.context
  let peak = 0
  let overflowAt: string | undefined
  runTokens(model, C, tokens.slice(0, C), isResidual, (name, value) => {
    const p = peakOf(value)
    if (!(p <= FP16_MAX) && !overflowAt) overflowAt = name
    if (!(p <= peak)) peak = Number.isNaN(p) ? Infinity : p
  })
  return overflowAt ? { peak: Infinity, overflowAt } : { peak }
}

/** α for a measured peak: 1 when it fits comfortably, else the largest power of two below TARGET_PEAK / peak. */
export function chooseScale(peak: number): number {
  if (peak <= TARGET_PEAK) return 1
  return 2 ** Math.floor(Math.log2(TARGET_PEAK / peak))
}
