// Gemma 3 text models (`gemma3_text`; `gemma3` multimodal configs unwrap to their text_config):
// four zero-centred RMSNorms per layer (gain 1 + w; post-norms on the attention and MLP outputs),
// q/k norms, queries scaled by query_pre_attn_scalar^-½, GeGLU with tanh GELU, embeddings × √H,
// and per-layer attention types: sliding layers take RoPE base rope_local_base_freq unscaled,
// global layers rope_theta with rope_scaling, and see only the last sliding_window keys. One KV
// cache holds every layer's rows (ANEMLL's --single-cache layout, here valid past the window).
import type { BaseConfig, ModelConfig } from '../checkpoint/config.js'
import { bool, positive, size, strings, type Fail, type Spec } from '../checkpoint/fields.js'
import { isObject } from '../checkpoint/json.js'
import type { Var } from '../mil/program.js'
import { attention, mlp, rmsNorm, short, slidingMask, type LayerContext } from './blocks.js'
import { ROTARY_BUFFERS } from './llama.js'
import type { Architecture } from './types.js'

type LayerType = 'sliding_attention' | 'full_attention'

export interface Gemma3Config extends BaseConfig {
  model_type: 'gemma3_text' | 'gemma3'
  query_pre_attn_scalar: number
  sliding_window: number
  rope_local_base_freq: number
  layer_types: LayerType[]
}

const nullable = {
  want: 'null (logit soft-capping is not supported)',
  check: (v: unknown) => v === null,
  nullable: true,
}

const SPEC: Spec = [
  ['query_pre_attn_scalar', positive, 256],
  ['sliding_window', size, 4096],
  ['rope_local_base_freq', positive, 10000],
  // Older configs give the pattern instead: every n-th layer is global.
  [
    'layer_types',
    strings,
    (c, _f, raw) => {
      const n = Number(raw.sliding_window_pattern ?? raw._sliding_window_pattern ?? 6)
      return Array.from({ length: c.num_hidden_layers as number }, (_, i) =>
        (i + 1) % n ? 'sliding_attention' : 'full_attention',
      )
    },
  ],
  // Math we do not compute: refused below unless absent (Gemma 3 sets neither).
  ['final_logit_softcapping', nullable, null],
  ['attn_logit_softcapping', nullable, null],
  ['use_bidirectional_attention', bool, false],
]

/** transformers' Gemma3TextConfig defaults where they differ from the shared ones. */
const DEFAULTS: Record<string, unknown> = {
  head_dim: 256,
  max_position_embeddings: 131072,
  rope_theta: 1000000,
  tie_word_embeddings: true,
  bos_token_id: 2,
  eos_token_id: [1],
  pad_token_id: 0,
  // Gemma names the key hidden_activation.
  hidden_act: (_c: unknown, _f: unknown, raw: Record<string, unknown>) =>
    raw.hidden_activation ?? 'gelu_pytorch_tanh',
}

function checkConfig(cfg: ModelConfig, _raw: Record<string, unknown>, fail: Fail): void {
  const c = cfg as Gemma3Config & { use_bidirectional_attention: boolean }
  if (c.use_bidirectional_attention)
    fail('use_bidirectional_attention', 'true is not supported (causal attention only)')
  if (c.layer_types.length !== c.num_hidden_layers)
    fail('layer_types', `has ${c.layer_types.length} entries for ${c.num_hidden_layers} layers`)
  const bad = c.layer_types.findIndex((t) => t !== 'sliding_attention' && t !== 'full_attention')
  if (bad >= 0)
    fail(
      `layer_types[${bad}]`,
      `'${c.layer_types[bad]}' is not supported (sliding_attention, full_attention)`,
    )
}

const attentionOf = (cfg: Gemma3Config, c: LayerContext, layer: number) => ({
  qkNorm: true,
  qkvBias: cfg.attention_bias,
  oBias: cfg.attention_bias,
  scale: cfg.query_pre_attn_scalar ** -0.5,
  ...(cfg.layer_types[layer] === 'sliding_attention'
    ? {
        rotary: c.rotary(cfg.rope_local_base_freq, null),
        // Within the window the causal mask is the window.
        mask: c.ctx > cfg.sliding_window ? slidingMask(c, cfg.sliding_window) : undefined,
      }
    : {}),
  // The residual update is the post-norm's output: its gain carries the fp16 scale.
  scaleOutput: false,
})

function layer(c: LayerContext, x: Var, i: number, tail: boolean): Var {
  const cfg = c.cfg as Gemma3Config
  const p = `model.layers.${i}`
  const post = (y: Var, norm: string) =>
    rmsNorm(c, y, `${p}.${norm}`, 1, { scale: c.residualScale })
  const attn = attention(c, rmsNorm(c, x, `${p}.input_layernorm`, 1), i, attentionOf(cfg, c, i))
  const h = c.b.add({ x, y: post(attn, 'post_attention_layernorm') }, `${short(p)}.attn_residual`)
  if (tail) return h
  const ffn = mlp(c, rmsNorm(c, h, `${p}.pre_feedforward_layernorm`, 1), i, {
    scaleOutput: false,
  })
  return c.b.add({ x: h, y: post(ffn, 'post_feedforward_layernorm') }, `${short(p)}.mlp_residual`)
}

function tensors(cfg: ModelConfig): string[] {
  const names = ['model.embed_tokens.weight', 'model.norm.weight']
  const bias = cfg.attention_bias
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `model.layers.${i}`
    names.push(
      ...['input', 'post_attention', 'pre_feedforward', 'post_feedforward'].map(
        (n) => `${p}.${n}_layernorm.weight`,
      ),
      ...['q', 'k', 'v', 'o'].flatMap((n) => [
        `${p}.self_attn.${n}_proj.weight`,
        ...(bias ? [`${p}.self_attn.${n}_proj.bias`] : []),
      ]),
      `${p}.self_attn.q_norm.weight`,
      `${p}.self_attn.k_norm.weight`,
      ...['gate', 'up', 'down'].map((n) => `${p}.mlp.${n}_proj.weight`),
    )
  }
  return names
}

function layerParameters(cfg: ModelConfig): number {
  const H = cfg.hidden_size
  const q = cfg.num_attention_heads * cfg.head_dim
  const kv = cfg.num_key_value_heads * cfg.head_dim
  let n = 2 * H * q + 2 * H * kv + 3 * H * cfg.intermediate_size + 4 * H + 2 * cfg.head_dim
  if (cfg.attention_bias) n += q + 2 * kv + H
  return n
}

export const gemma3Text: Architecture = {
  modelType: 'gemma3_text',
  hfClass: 'Gemma3ForCausalLM',
  config: { spec: SPEC, defaults: DEFAULTS },
  checkConfig,
  prefix: 'gemma3',
  splitLmHead: 16,
  tokenizerClass: 'GemmaTokenizer',
  embeddingScale: (cfg) => Math.sqrt(cfg.hidden_size),
  normOffset: 1,
  // One cache [2L, nKV, C, hd] (ANEMLL's --single-cache layout); local layers mask the window.
  metaParameters: (cfg) => ({
    sliding_window: (cfg as Gemma3Config).sliding_window,
    single_cache: true,
  }),
  layer,
  tensors,
  unused: [ROTARY_BUFFERS],
  layerParameters,
}

/**
 * Multimodal Gemma 3 configs (4B and up): the text model's keys sit under text_config. Their
 * checkpoints store the text tower under other tensor names (`language_model.model.*`), which
 * are not mapped yet: such a conversion stops at the weight check, naming the first tensor.
 */
export const gemma3: Architecture = {
  ...gemma3Text,
  modelType: 'gemma3',
  config: {
    ...gemma3Text.config,
    unwrap: (raw) => {
      const { text_config: text, vision_config: _v, ...top } = raw
      return isObject(text) ? { ...top, ...text, model_type: 'gemma3' } : raw
    },
  },
  unused: [...gemma3Text.unused, /^(model\.)?(vision_tower|multi_modal_projector)\./],
}
