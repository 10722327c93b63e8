// Rotary-embedding tables, computed on the host the way Hugging Face computes them (float32
// inverse frequencies, llama3 / linear scaling), stored as fp16 constants [positions, head_dim].
import type { ModelConfig } from '../checkpoint/config.js'
import { constant } from '../mil/builder.js'
import type { TensorValue } from '../mil/value.js'

/** Inverse frequencies for head_dim, with the config's rope_scaling applied. */
export function inverseFrequencies(cfg: ModelConfig): number[] {
  const d = cfg.head_dim
  const inv: number[] = []
  for (let i = 0; i < d; i += 2) inv.push(Math.fround(1 / Math.fround(cfg.rope_theta ** (i / d))))
  const s = cfg.rope_scaling
  if (!s) return inv
  if (s.rope_type === 'linear') return inv.map((f) => Math.fround(f / s.factor))
  const lowWavelen = s.original_max_position_embeddings / s.low_freq_factor
  const highWavelen = s.original_max_position_embeddings / s.high_freq_factor
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f
    if (wavelen < highWavelen) return f
    if (wavelen > lowWavelen) return Math.fround(f / s.factor)
    const smooth =
      (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
      (s.high_freq_factor - s.low_freq_factor)
    return Math.fround((1 - smooth) * (f / s.factor) + smooth * f)
  })
}

/** cos and sin tables [positions, head_dim] (angles repeated for both halves). */
export function ropeTables(
  cfg: ModelConfig,
  positions: number,
): { cos: TensorValue; sin: TensorValue } {
  const inv = inverseFrequencies(cfg)
  const d = cfg.head_dim
  const cos = new Array<number>(positions * d)
  const sin = new Array<number>(positions * d)
  for (let t = 0; t < positions; t++) {
    for (let i = 0; i < d; i++) {
      const a = Math.fround(t * inv[i % (d / 2)])
      cos[t * d + i] = Math.cos(a)
      sin[t * d + i] = Math.sin(a)
    }
  }
  return { cos: constant('fp16', [positions, d], cos), sin: constant('fp16', [positions, d], sin) }
}
