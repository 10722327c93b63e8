// Qwen2 / Qwen2.5 (and DeepSeek-R1-Distill-Qwen): the Llama layer with biases on q, k and v
// (always: transformers' Qwen2Attention ignores attention_bias) and none on o or the MLP.
import type { BaseConfig } from '../checkpoint/config.js'
import { bool, count, size, type Fail, type Spec } from '../checkpoint/fields.js'
import type { ModelConfig } from '../checkpoint/config.js'
import {
  checkRotary,
  LLAMA_GGUF_LAYERS,
  preNormLayer,
  preNormParameters,
  preNormTensors,
  ROTARY_BUFFERS,
  type PreNormVariant,
} from './llama.js'
import type { Architecture } from './types.js'

/** Sliding-window keys of the Qwen configs (Qwen2, Qwen3). */
export interface QwenSliding {
  use_sliding_window: boolean
  sliding_window: number | null
  max_window_layers: number
}

export interface Qwen2Config extends BaseConfig, QwenSliding {
  model_type: 'qwen2'
}

export const QWEN_SLIDING: Spec = [
  ['use_sliding_window', bool, false],
  ['sliding_window', { ...size, nullable: true }, null],
  ['max_window_layers', count, (c) => c.num_hidden_layers],
]

/**
 * transformers slides the window on layers ≥ max_window_layers when use_sliding_window is set
 * (or where `layer_types` says so); we convert full attention only.
 */
export function checkQwenSliding(cfg: ModelConfig, raw: Record<string, unknown>, fail: Fail): void {
  const c = cfg as ModelConfig & QwenSliding
  if (c.use_sliding_window && c.max_window_layers < c.num_hidden_layers)
    fail(
      'use_sliding_window',
      `true (from layer ${c.max_window_layers}) is not supported: sliding-window attention is not converted`,
    )
  const types = raw.layer_types
  if (Array.isArray(types)) {
    const i = types.findIndex((t) => t !== 'full_attention')
    if (i >= 0)
      fail(`layer_types[${i}]`, `'${String(types[i])}' is not supported (only full_attention)`)
  }
  checkRotary(raw, fail)
}

const variant: PreNormVariant = {
  attention: () => ({ qkvBias: true }),
  mlpBias: () => false,
}

export const qwen2: Architecture = {
  modelType: 'qwen2',
  hfClass: 'Qwen2ForCausalLM',
  // Qwen2 configs have no attention_bias key: their q/k/v projections always carry a bias.
  config: {
    spec: QWEN_SLIDING,
    defaults: { max_position_embeddings: 32768, attention_bias: true },
  },
  checkConfig: checkQwenSliding,
  prefix: 'qwen25',
  splitLmHead: 16,
  tokenizerClass: 'Qwen2Tokenizer',
  layer: preNormLayer(variant),
  tensors: preNormTensors(variant),
  unused: [ROTARY_BUFFERS],
  layerParameters: preNormParameters(variant),
  gguf: { arch: 'qwen2', layerNames: LLAMA_GGUF_LAYERS, permuteQK: false },
}
