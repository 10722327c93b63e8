// model_type → architecture. A new architecture is one file and one line here.
import type { ModelType } from '../checkpoint/config.js'
import { UsageError } from '../util/errors.js'
import { llama } from './llama.js'
import { qwen2 } from './qwen2.js'
import { qwen3 } from './qwen3.js'
import type { ArchSpec } from './types.js'

const ARCHS: Record<ModelType, ArchSpec> = { llama, qwen2, qwen3 }

export function archFor(modelType: string): ArchSpec {
  const a = ARCHS[modelType as ModelType]
  if (!a)
    throw new UsageError(
      `model_type '${modelType}' is not supported (supported: ${Object.keys(ARCHS).join(', ')})`,
    )
  return a
}
