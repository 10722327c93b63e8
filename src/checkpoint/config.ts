// config.json → a typed model config that keeps the Hugging Face key names.
//
// Parsed once, at the boundary: known keys are validated, defaults filled in from one table,
// unknown keys dropped. The keys every decoder shares are here; an architecture's own keys,
// default overrides and refusals live in its file under src/arch/.

import { SUPPORTED_ACTIVATIONS } from '../arch/blocks.js'
import { findArch, SUPPORTED_MODEL_TYPES, type ModelConfig } from '../arch/registry.js'
import { FormatError } from '../util/errors.js'
import {
  type Default,
  type Field,
  type Spec,
  applySpec,
  bool,
  positive,
  size,
  str,
  strings,
  tokenId,
  tokenIds,
} from './fields.js'
import { isObject, readJsonFile } from './json.js'

export type { ModelConfig, ModelType } from '../arch/registry.js'
export { SUPPORTED_MODEL_TYPES } from '../arch/registry.js'

/** Llama 3.1+ frequency-dependent RoPE scaling. */
export interface RopeScalingLlama3 {
  rope_type: 'llama3'
  factor: number
  low_freq_factor: number
  high_freq_factor: number
  original_max_position_embeddings: number
}

/** Position interpolation: positions divided by `factor`. */
export interface RopeScalingLinear {
  rope_type: 'linear'
  factor: number
}

export type RopeScaling = RopeScalingLlama3 | RopeScalingLinear

/** Keys every supported decoder shares. */
export interface BaseConfig {
  architectures: string[]
  vocab_size: number
  hidden_size: number
  intermediate_size: number
  num_hidden_layers: number
  num_attention_heads: number
  /** Defaults to num_attention_heads (no GQA). */
  num_key_value_heads: number
  /** Defaults to hidden_size / num_attention_heads. */
  head_dim: number
  max_position_embeddings: number
  rms_norm_eps: number
  rope_theta: number
  /** null when positions are not rescaled (`rope_type` "default" or absent). */
  rope_scaling: RopeScaling | null
  tie_word_embeddings: boolean
  /** Bias on the attention projections (qwen2: q/k/v only, always present). */
  attention_bias: boolean
  mlp_bias: boolean
  hidden_act: string
  bos_token_id: number | null
  /** Always a list here, even when config.json has a single id. */
  eos_token_id: number[]
  pad_token_id: number | null
  /** `torch_dtype` (or the newer `dtype`), e.g. "bfloat16". */
  torch_dtype: string | null
}

const ropeScaling: Field<RopeScaling | null> = {
  want: 'null or an object with rope_type',
  parse: (v, ctx) => parseRopeScaling(v, ctx.fail),
}

/** rope_scaling types: the keys each one needs. "default" means no scaling. */
const ROPE_SCALING: Record<string, Spec | null> = {
  default: null,
  linear: [['factor', positive, 'required']],
  llama3: [
    ['factor', positive, 'required'],
    ['low_freq_factor', positive, 'required'],
    ['high_freq_factor', positive, 'required'],
    ['original_max_position_embeddings', size, 'required'],
  ],
}

function parseRopeScaling(
  v: unknown,
  fail: (key: string, problem: string) => never,
): RopeScaling | null {
  if (v === null || v === undefined) return null
  if (!isObject(v)) return fail('rope_scaling', 'expected an object or null')
  const type = v.rope_type ?? v.type ?? 'default'
  const spec = typeof type === 'string' ? ROPE_SCALING[type] : undefined
  if (spec === undefined) {
    fail(
      'rope_scaling.rope_type',
      `'${String(type)}' is not supported (supported: ${Object.keys(ROPE_SCALING).join(', ')})`,
    )
  }
  if (spec === null) return null
  const out = applySpec(spec, v, (key, problem) => fail(`rope_scaling.${key}`, problem))
  return { rope_type: type, ...out } as RopeScaling
}

const activation: Field<string> = {
  want: `one of ${SUPPORTED_ACTIVATIONS.join(', ')}`,
  check: (v) => typeof v === 'string' && SUPPORTED_ACTIVATIONS.includes(v),
}

const BASE: Spec = [
  ['architectures', strings, []],
  ['vocab_size', size, 'required'],
  ['hidden_size', size, 'required'],
  ['intermediate_size', size, 'required'],
  ['num_hidden_layers', size, 'required'],
  ['num_attention_heads', size, 'required'],
  ['num_key_value_heads', size, (c) => c.num_attention_heads],
  ['head_dim', size, (c, fail) => defaultHeadDim(c, fail)],
  ['max_position_embeddings', size, 2048],
  ['rms_norm_eps', positive, 1e-6],
  ['rope_theta', positive, 10000],
  ['rope_scaling', ropeScaling, null],
  ['tie_word_embeddings', bool, false],
  ['attention_bias', bool, false],
  ['mlp_bias', bool, false],
  ['hidden_act', activation, 'silu'],
  ['bos_token_id', tokenId, null],
  ['eos_token_id', tokenIds, []],
  ['pad_token_id', tokenId, null],
  ['torch_dtype', str, (c, _f, raw) => (typeof raw.dtype === 'string' ? raw.dtype : null)],
]

function defaultHeadDim(
  c: Record<string, unknown>,
  fail: (key: string, problem: string) => never,
): number {
  const [hidden, heads] = [c.hidden_size as number, c.num_attention_heads as number]
  if (hidden % heads !== 0) {
    fail(
      'head_dim',
      `is missing and hidden_size ${hidden} is not divisible by num_attention_heads ${heads}`,
    )
  }
  return hidden / heads
}

/**
 * Validates a parsed config.json object. `file` names the source in errors.
 * @example parseModelConfig(JSON.parse(text), 'config.json').num_key_value_heads
 */
export function parseModelConfig(raw: unknown, file: string): ModelConfig {
  const fail = (key: string, problem: string): never => {
    throw new FormatError(file, `key '${key}' ${problem}`)
  }
  if (!isObject(raw)) throw new FormatError(file, 'expected a JSON object')
  const type = raw.model_type
  if (typeof type !== 'string') return fail('model_type', 'is missing')
  const arch = findArch(type)
  if (!arch) {
    return fail(
      'model_type',
      `'${type}' is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
    )
  }
  const text = arch.config.unwrap?.(raw) ?? raw
  // Newer configs (transformers 5) nest rope_theta/rope_type under rope_parameters.
  const rp = isObject(text.rope_parameters) ? text.rope_parameters : undefined
  const withRope = rp ? { rope_theta: rp.rope_theta, rope_scaling: rp, ...text } : text
  const { spec: own, defaults } = arch.config
  const spec: Spec = [...BASE, ...own].map(([k, f, d]) => [
    k,
    f,
    k in defaults ? (defaults[k] as Default) : d,
  ])
  const cfg = applySpec(spec, withRope, fail)
  const { num_attention_heads: heads, num_key_value_heads: kv } = cfg as { [k: string]: number }
  if (heads % kv !== 0)
    fail('num_key_value_heads', `${kv} does not divide num_attention_heads ${heads}`)
  const parsed = { model_type: type, ...cfg } as ModelConfig
  arch.checkConfig(parsed, withRope, fail)
  return parsed
}

/** Reads and validates `config.json` at `path`. */
export function readModelConfig(path: string): ModelConfig {
  return parseModelConfig(readJsonFile(path), path)
}
