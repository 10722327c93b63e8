// generation_config.json → typed sampling defaults and special token ids (HF key names).

import { existsSync } from 'node:fs'
import { FormatError } from '../util/errors.js'
import type { ModelConfig } from './config.js'
import {
  type Spec,
  applySpec,
  bool,
  count,
  nonNegative,
  positive,
  size,
  tokenId,
  tokenIds,
  unit,
} from './fields.js'
import { isObject, readJsonFile } from './json.js'

/** Sampling defaults and special ids; absent keys take Hugging Face GenerationConfig defaults. */
export interface GenerationConfig {
  bos_token_id: number | null
  /** Every id that ends generation; always a list (Llama 3 lists several). */
  eos_token_id: number[]
  pad_token_id: number | null
  do_sample: boolean
  temperature: number
  top_p: number
  /** 0 disables top-k. */
  top_k: number
  repetition_penalty: number
  max_length: number | null
  max_new_tokens: number | null
}

// Token ids default to the model config's, which is what transformers does when they are unset.
const spec = (model?: ModelConfig): Spec => [
  ['bos_token_id', tokenId, model?.bos_token_id ?? null],
  ['eos_token_id', tokenIds, model?.eos_token_id ?? []],
  ['pad_token_id', tokenId, model?.pad_token_id ?? null],
  ['do_sample', bool, false],
  ['temperature', nonNegative, 1.0],
  ['top_p', unit, 1.0],
  ['top_k', count, 50],
  ['repetition_penalty', positive, 1.0],
  ['max_length', { ...size, nullable: true }, null],
  ['max_new_tokens', { ...size, nullable: true }, null],
]

/** Validates a parsed generation_config.json object; `file` names the source in errors. */
export function parseGenerationConfig(
  raw: unknown,
  file: string,
  model?: ModelConfig,
): GenerationConfig {
  if (!isObject(raw)) throw new FormatError(file, 'expected a JSON object')
  const fail = (key: string, problem: string): never => {
    throw new FormatError(file, `key '${key}' ${problem}`)
  }
  const out = applySpec(spec(model), raw, fail) as unknown as GenerationConfig
  // A null eos in generation_config.json still means "use the model's".
  if (out.eos_token_id.length === 0 && model) out.eos_token_id = [...model.eos_token_id]
  return out
}

/** Reads generation_config.json at `path`; when it does not exist, defaults from `model`. */
export function readGenerationConfig(path: string, model?: ModelConfig): GenerationConfig {
  const raw = existsSync(path) ? readJsonFile(path) : {}
  return parseGenerationConfig(raw, path, model)
}
