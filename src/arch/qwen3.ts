// Qwen3 (dense): Llama plus a per-head RMSNorm of q and k before RoPE.
import type { ArchSpec } from './types.js'

export const qwen3: ArchSpec = {
  modelType: 'qwen3',
  prefix: 'qwen',
  splitLmHead: 16,
  attention: { qkNorm: true },
}
