// Qwen3 (dense): the Llama layer plus a per-head RMSNorm of q and k before RoPE; attention_bias
// puts a bias on q, k, v and o (transformers' Qwen3Attention), the MLP has none.
import type { BaseConfig } from '../checkpoint/config.js'
import {
  LLAMA_GGUF_LAYERS,
  preNormLayer,
  preNormParameters,
  preNormTensors,
  ROTARY_BUFFERS,
  type PreNormVariant,
} from './llama.js'
import { checkQwenSliding, QWEN_SLIDING, type QwenSliding } from './qwen2.js'
import type { Architecture } from './types.js'

export interface Qwen3Config extends BaseConfig, QwenSliding {
  model_type: 'qwen3'
}

const variant: PreNormVariant = {
  attention: (cfg) => ({ qkNorm: true, qkvBias: cfg.attention_bias, oBias: cfg.attention_bias }),
  mlpBias: () => false,
}

export const qwen3: Architecture = {
  modelType: 'qwen3',
  hfClass: 'Qwen3ForCausalLM',
  config: { spec: QWEN_SLIDING, defaults: { max_position_embeddings: 32768 } },
  checkConfig: checkQwenSliding,
  prefix: 'qwen',
  splitLmHead: 16,
  tokenizerClass: 'Qwen2Tokenizer',
  layer: preNormLayer(variant),
  tensors: preNormTensors(variant),
  unused: [ROTARY_BUFFERS],
  layerParameters: preNormParameters(variant),
  gguf: {
    arch: 'qwen3',
    layerNames: {
      ...LLAMA_GGUF_LAYERS,
      attn_q_norm: 'self_attn.q_norm',
      attn_k_norm: 'self_attn.k_norm',
    },
    permuteQK: false,
  },
}
