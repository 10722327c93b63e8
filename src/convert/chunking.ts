// How many chunks a model needs (`--chunk auto`, after ANEMLL 0.3.5 calc_chunk_split): the
// smallest N whose largest balanced chunk, at the LUT's bits per weight plus overhead, fits the
// per-file limit (iOS ~1 GB, macOS ~2 GB).
import type { Architecture } from '../arch/types.js'
import type { ModelConfig } from '../checkpoint/config.js'
import { chunkRanges } from './parts.js'

const OVERHEAD = 1.1

/** Bytes of a chunk holding `layers` layers at `bits` per weight (16 = fp16). */
export function chunkBytes(
  arch: Architecture,
  cfg: ModelConfig,
  layers: number,
  bits: number,
): number {
  return arch.layerParameters(cfg) * layers * 2 * (bits < 16 ? bits / 16 : 1) * OVERHEAD
}

export function autoChunks(
  arch: Architecture,
  cfg: ModelConfig,
  bits: number,
  maxChunkMb: number,
): number {
  const limit = maxChunkMb * 1024 * 1024
  const L = cfg.num_hidden_layers
  for (let n = 1; n <= L; n++) {
    const largest = Math.max(...chunkRanges(L, n).map(([a, b]) => b - a))
    if (chunkBytes(arch, cfg, largest, bits) <= limit) return n
  }
  return L
}
