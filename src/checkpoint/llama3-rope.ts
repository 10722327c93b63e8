// llama.cpp does not store Llama 3's rope_scaling parameters in GGUF metadata: its converter
// bakes them into a `rope_freqs.weight` tensor of per-frequency divisors (1 for short
// wavelengths, `factor` for long ones, a smooth blend between). This recovers the parameters.

import type { RopeScalingLlama3 } from './config.js'

/** llama.cpp's converter always uses 8192 here (it reads a top-level key Llama configs lack). */
const ORIGINAL_CONTEXT = 8192
const round = (v: number) => Math.round(v * 1000) / 1000

/** The divisors llama.cpp's converter computes for these parameters (float64, like Python). */
export function llama3RopeFactors(s: RopeScalingLlama3, theta: number, headDim: number): number[] {
  const lowWavelen = s.original_max_position_embeddings / s.low_freq_factor
  const highWavelen = s.original_max_position_embeddings / s.high_freq_factor
  const out: number[] = []
  for (let i = 0; i < headDim; i += 2) {
    const wavelen = 2 * Math.PI * theta ** (i / headDim)
    if (wavelen < highWavelen) out.push(1)
    else if (wavelen > lowWavelen) out.push(s.factor)
    else {
      const smooth =
        (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
        (s.high_freq_factor - s.low_freq_factor)
      out.push(1 / ((1 - smooth) / s.factor + smooth))
    }
  }
  return out
}

/**
 * Fits llama3 rope_scaling to a rope_freqs tensor: null when every divisor is 1, else the
 * parameters, checked by recomputing the tensor. Returns a problem string when nothing fits.
 */
export function llama3ScalingFromFreqs(
  freqs: Float32Array,
  theta: number,
  headDim: number,
): RopeScalingLlama3 | null | string {
  if (freqs.length !== headDim / 2)
    return `has ${freqs.length} values, expected head_dim/2 = ${headDim / 2}`
  const factor = Math.max(...freqs)
  if (freqs[0] !== 1) return 'does not start at 1 (not llama3 scaling)'
  if (factor === 1) return null
  // In the blend, 1/f = (1 - s)/factor + s with s linear in x = original/wavelen: fit the line.
  const pts: [number, number][] = []
  for (let i = 0; i < freqs.length; i++) {
    const f = freqs[i]
    if (f <= 1 + 1e-6 || f >= factor * (1 - 1e-6)) continue
    const x = ORIGINAL_CONTEXT / (2 * Math.PI * theta ** ((2 * i) / headDim))
    pts.push([x, (1 / f - 1 / factor) / (1 - 1 / factor)])
  }
  let [low, high] = [1, 4] // Llama 3.x's values, when the blend has too few points to fit
  if (pts.length >= 2) {
    const [[xa, sa], [xb, sb]] = [pts[0], pts[pts.length - 1]]
    const span = (xa - xb) / (sa - sb)
    low = round(xa - sa * span)
    high = round(low + span)
  }
  const s: RopeScalingLlama3 = {
    rope_type: 'llama3',
    factor: round(factor),
    low_freq_factor: low,
    high_freq_factor: high,
    original_max_position_embeddings: ORIGINAL_CONTEXT,
  }
  const want = llama3RopeFactors(s, theta, headDim)
  const bad = want.findIndex((w, i) => Math.abs(w - freqs[i]) > 1e-4 * w)
  if (bad >= 0)
    return `value ${bad} is ${freqs[bad]}, llama3 scaling ${JSON.stringify(s)} gives ${want[bad]}`
  return s
}
