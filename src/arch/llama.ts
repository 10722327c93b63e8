// Llama 3.x (also DeepSeek-R1-Distill-Llama, DeepHermes, SmolLM2, llama2.c's stories): the
// pre-norm decoder layer the Qwen files reuse with their own attention. RoPE follows Hugging
// Face, including llama3 frequency scaling (ANEMLL multiplies θ by the factor instead); see rope.ts.
import type { BaseConfig, ModelConfig } from '../checkpoint/config.js'
import type { Fail } from '../checkpoint/fields.js'
import type { Var } from '../mil/program.js'
import {
  attention,
  mlp,
  rmsNorm,
  short,
  type AttentionOptions,
  type LayerContext,
} from './blocks.js'
import type { Architecture } from './types.js'

export interface LlamaConfig extends BaseConfig {
  model_type: 'llama'
}

/** What a pre-norm family member computes for a config: attention variant and MLP biases. */
export interface PreNormVariant {
  attention(cfg: ModelConfig): AttentionOptions
  mlpBias(cfg: ModelConfig): boolean
}

/** x + attn(norm(x)), then + mlp(norm(·)); `tail` (prefill's last layer) stops after attention. */
export function preNormLayer(v: PreNormVariant) {
  return (c: LayerContext, x: Var, layer: number, tail: boolean): Var => {
    const p = `model.layers.${layer}`
    const h = c.b.add(
      { x, y: attention(c, rmsNorm(c, x, `${p}.input_layernorm`, 1), layer, v.attention(c.cfg)) },
      `${short(p)}.attn_residual`,
    )
    if (tail) return h
    const ffn = mlp(c, rmsNorm(c, h, `${p}.post_attention_layernorm`, 1), layer, {
      bias: v.mlpBias(c.cfg),
    })
    return c.b.add({ x: h, y: ffn }, `${short(p)}.mlp_residual`)
  }
}

/** The checkpoint tensors a pre-norm model reads (the LM head aside: see convert/parts.ts). */
export function preNormTensors(v: PreNormVariant) {
  return (cfg: ModelConfig): string[] => {
    const a = v.attention(cfg)
    const names = ['model.embed_tokens.weight', 'model.norm.weight']
    const linear = (n: string, bias: boolean) => [`${n}.weight`, ...(bias ? [`${n}.bias`] : [])]
    for (let i = 0; i < cfg.num_hidden_layers; i++) {
      const p = `model.layers.${i}`
      names.push(
        `${p}.input_layernorm.weight`,
        `${p}.post_attention_layernorm.weight`,
        ...['q', 'k', 'v'].flatMap((n) => linear(`${p}.self_attn.${n}_proj`, !!a.qkvBias)),
        ...linear(`${p}.self_attn.o_proj`, !!a.oBias),
        ...(a.qkNorm ? [`${p}.self_attn.q_norm.weight`, `${p}.self_attn.k_norm.weight`] : []),
        ...['gate', 'up', 'down'].flatMap((n) => linear(`${p}.mlp.${n}_proj`, v.mlpBias(cfg))),
      )
    }
    return names
  }
}

/** Weights of one pre-norm layer: projections, their biases, norms. */
export function preNormParameters(v: PreNormVariant) {
  return (cfg: ModelConfig): number => {
    const a = v.attention(cfg)
    const H = cfg.hidden_size
    const I = cfg.intermediate_size
    const q = cfg.num_attention_heads * cfg.head_dim
    const kv = cfg.num_key_value_heads * cfg.head_dim
    let n = H * q + 2 * H * kv + q * H + 3 * H * I + 2 * H
    if (a.qkvBias) n += q + 2 * kv
    if (a.oBias) n += H
    if (a.qkNorm) n += 2 * cfg.head_dim
    if (v.mlpBias(cfg)) n += 2 * I + H
    return n
  }
}

/** llama.cpp's per-layer tensor names of the llama family. */
export const LLAMA_GGUF_LAYERS: Record<string, string> = {
  attn_norm: 'input_layernorm',
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  ffn_norm: 'post_attention_layernorm',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
}

/** Older checkpoints store RoPE's inverse frequencies; we compute them (rope.ts). */
export const ROTARY_BUFFERS = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/

/**
 * transformers reads `partial_rotary_factor` for any model's RoPE; we rotate whole heads.
 * @example checkRotary({ partial_rotary_factor: 0.5 }, fail) // fails naming the key
 */
export function checkRotary(raw: Record<string, unknown>, fail: Fail): void {
  const f = raw.partial_rotary_factor
  if (f !== undefined && f !== null && f !== 1)
    fail(
      'partial_rotary_factor',
      `${String(f)} is not supported (only 1: RoPE over the whole head)`,
    )
}

const variant: PreNormVariant = {
  // transformers' LlamaAttention: attention_bias puts a bias on q, k, v and o alike.
  attention: (cfg) => ({ qkvBias: cfg.attention_bias, oBias: cfg.attention_bias }),
  mlpBias: (cfg) => cfg.mlp_bias,
}

export const llama: Architecture = {
  modelType: 'llama',
  hfClass: 'LlamaForCausalLM',
  config: { spec: [], defaults: {} },
  checkConfig: (_cfg, raw, fail) => checkRotary(raw, fail),
  prefix: 'llama',
  splitLmHead: 8,
  tokenizerClass: 'LlamaTokenizer',
  layer: preNormLayer(variant),
  tensors: preNormTensors(variant),
  unused: [ROTARY_BUFFERS],
  layerParameters: preNormParameters(variant),
  gguf: { arch: 'llama', layerNames: LLAMA_GGUF_LAYERS, permuteQK: true },
}
