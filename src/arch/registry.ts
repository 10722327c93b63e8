// model_type → architecture. A new architecture is one file and one line in ARCHS (and its config
// type in ModelConfig).
import { UsageError } from '../util/errors.js'
import { gemma3, gemma3Text, type Gemma3Config } from './gemma3.js'
import { llama, type LlamaConfig } from './llama.js'
import { qwen2, type Qwen2Config } from './qwen2.js'
import { qwen3, type Qwen3Config } from './qwen3.js'
import type { Architecture, GgufArchitecture } from './types.js'

const ARCHS: readonly Architecture[] = [llama, qwen2, qwen3, gemma3Text, gemma3]

/** A parsed config.json, by model_type. */
export type ModelConfig = LlamaConfig | Qwen2Config | Qwen3Config | Gemma3Config
export type ModelType = ModelConfig['model_type']

/** The model_type values we convert. */
export const SUPPORTED_MODEL_TYPES = ARCHS.map((a) => a.modelType)

/** The architecture of a model_type, or undefined. */
export const findArch = (modelType: string): Architecture | undefined =>
  ARCHS.find((a) => a.modelType === modelType)

/** The GGUF `general.architecture` values we import. */
export const GGUF_ARCHS = ARCHS.flatMap((a) => (a.gguf ? [a.gguf.arch] : []))

/** The architecture whose GGUF `general.architecture` is `name`, or undefined. */
export const findGgufArch = (name: string): GgufArchitecture | undefined =>
  ARCHS.find((a): a is GgufArchitecture => a.gguf?.arch === name)

export function archFor(modelType: string): Architecture {
  const a = findArch(modelType)
  if (!a)
    throw new UsageError(
      `model_type '${modelType}' is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
    )
  return a
}
