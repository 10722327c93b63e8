// What an architecture file declares: how its layers differ from the shared blocks, and the
// ANEMLL naming and split conventions of its converter.
import type { ModelType } from '../checkpoint/config.js'
import type { AttentionOptions } from './blocks.js'

export interface ArchSpec {
  modelType: ModelType
  /** ANEMLL's default file prefix (`llama`, `qwen`, `qwen25`). */
  prefix: string
  /** Number of LM-head outputs logits1..K (ANEMLL: 8 for Llama, 16 for Qwen). */
  splitLmHead: number
  attention: AttentionOptions
}
