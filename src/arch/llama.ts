// Llama 3.x (also DeepSeek-R1-Distill-Llama, DeepHermes, SmolLM2): the shared blocks as they are.
// RoPE follows Hugging Face, including llama3 frequency scaling (ANEMLL multiplies θ by the factor
// instead); see rope.ts.
import type { ArchSpec } from './types.js'

export const llama: ArchSpec = {
  modelType: 'llama',
  prefix: 'llama',
  splitLmHead: 8,
  attention: {},
}
