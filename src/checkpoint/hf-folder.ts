import { join } from 'node:path'
import type { Checkpoint } from './checkpoint.js'
import { readModelConfig } from './config.js'
import { readGenerationConfig } from './generation-config.js'
import { findTokenizerFiles } from './tokenizer-files.js'
import { openSafetensorsWeights } from './weights.js'

/** Opens a Hugging Face model folder: config.json, generation_config.json, safetensors, tokenizer. */
export function openHfFolder(dir: string): Checkpoint {
  const config = readModelConfig(join(dir, 'config.json'))
  const generationConfig = readGenerationConfig(join(dir, 'generation_config.json'), config)
  const weights = openSafetensorsWeights(dir)
  return {
    source: { kind: 'hf', dir },
    config,
    generationConfig,
    tensorNames: () => [...weights.names],
    tensorInfo: (name) => {
      const { info } = weights.get(name)
      return { dtype: info.dtype, shape: [...info.shape], bytes: info.byteLength }
    },
    readTensor: (name, out) => weights.readFloat32(name, out),
    readTensorRows: (name, start, end) => weights.readRows(name, start, end),
    tokenizerSource: findTokenizerFiles(dir),
  }
}
