// How many chunks a model needs (`--chunk auto`, after ANEMLL 0.3.5 calc_chunk_split): the
// smallest N whose largest balanced chunk, at the LUT's bits per weight plus overhead, fits the
// per-file limit (iOS ~1 GB, macOS ~2 GB).
import type { ModelConfig } from '../checkpoint/config.js'
import { chunkRanges } from '../arch/parts.js'

const OVERHEAD = 1.1

/** Weights of one decoder layer (projections, biases, norms). */
export function layerParameters(cfg: ModelConfig): number {
  const H = cfg.hidden_size
  const q = cfg.num_attention_heads * cfg.head_dim
  const kv = cfg.num_key_value_heads * cfg.head_dim
  let n = H * q + 2 * H * kv + q * H + 3 * H * cfg.intermediate_size + 2 * H
  if (cfg.attention_bias) n += q + 2 * kv
  if (cfg.model_type === 'qwen3') n += 2 * cfg.head_dim
  return n
}

/** Bytes of a chunk holding `layers` layers at `bits` per weight (16 = fp16). */
export function chunkBytes(cfg: ModelConfig, layers: number, bits: number): number {
  return layerParameters(cfg) * layers * 2 * (bits < 16 ? bits / 16 : 1) * OVERHEAD
}

export function autoChunks(cfg: ModelConfig, bits: number, maxChunkMb: number): number {
  const limit = maxChunkMb * 1024 * 1024
  const L = cfg.num_hidden_layers
  for (let n = 1; n <= L; n++) {
    const largest = Math.max(...chunkRanges(L, n).map(([a, b]) => b - a))
    if (chunkBytes(cfg, largest, bits) <= limit) return n
  }
  return L
}
