// Qwen2 / Qwen2.5 (and DeepSeek-R1-Distill-Qwen): Llama plus biases on q, k and v.
import type { ArchSpec } from './types.js'

export const qwen2: ArchSpec = {
  modelType: 'qwen2',
  prefix: 'qwen25',
  splitLmHead: 16,
  attention: { qkvBias: true },
}
