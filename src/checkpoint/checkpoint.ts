// The one interface the converter reads models through, whatever they were stored as.

import { statSync } from 'node:fs'
import type { GgufValue } from '../formats/gguf.js'
import { FormatError } from '../util/errors.js'
import type { ModelConfig } from './config.js'
import type { GenerationConfig } from './generation-config.js'
import { openGgufCheckpoint } from './gguf-import.js'
import { openHfFolder } from './hf-folder.js'

/** A tensor as stored: `dtype` is a safetensors dtype ('BF16') or a GGML type ('Q4_K'). */
export interface TensorInfo {
  dtype: string
  /** Row-major, Hugging Face layout. */
  shape: number[]
  /** Bytes on disk. */
  bytes: number
}

/** Where a checkpoint came from. */
export type CheckpointSource = { kind: 'hf'; dir: string } | { kind: 'gguf'; file: string }

/** Paths of the tokenizer files a Hugging Face folder has (absent ones are undefined). */
export interface HfTokenizerFiles {
  kind: 'hf'
  dir: string
  tokenizerJson?: string
  tokenizerConfig?: string
  specialTokensMap?: string
  /** `chat_template.jinja` (newer transformers save the template there). */
  chatTemplateJinja?: string
  /** `chat_template.json` ({ "chat_template": ... }, processor-style). */
  chatTemplateJson?: string
  /** SentencePiece `tokenizer.model`. */
  tokenizerModel?: string
}

/** A GGUF's metadata: the tokenizer lives in `tokenizer.ggml.*` and `tokenizer.chat_template`. */
export interface GgufTokenizerSource {
  kind: 'gguf'
  file: string
  metadata: ReadonlyMap<string, GgufValue>
}

export type TokenizerSource = HfTokenizerFiles | GgufTokenizerSource

/**
 * A model checkpoint: typed config, tensors by Hugging Face name, and where its tokenizer is.
 * Tensors are read one at a time; nothing is held beyond what the caller keeps.
 */
export interface Checkpoint {
  source: CheckpointSource
  config: ModelConfig
  generationConfig: GenerationConfig
  /** Hugging Face tensor names (`model.layers.0.self_attn.q_proj.weight`), in storage order. */
  tensorNames(): string[]
  /** Throws FormatError for an unknown name. */
  tensorInfo(name: string): TensorInfo
  /**
   * The tensor as float32 (dequantized, HF layout); throws FormatError for an unknown name.
   * With `out` (a reusable buffer of at least the tensor's size) the values are written to its
   * start and a view of exactly the tensor is returned: walking a large checkpoint this way
   * allocates (and page-faults) nothing per tensor.
   */
  readTensor(name: string, out?: Float32Array): Float32Array
  /** Rows [start, end) of axis 0 as float32, reading only their bytes where the format allows. */
  readTensorRows(name: string, start: number, end: number): Float32Array
  tokenizerSource: TokenizerSource
}

/**
 * Opens a Hugging Face folder (config.json + safetensors) or a `.gguf` file.
 * @example const ckpt = await openCheckpoint('models/SmolLM2-135M-Instruct'); ckpt.config.hidden_size
 */
export async function openCheckpoint(path: string): Promise<Checkpoint> {
  let isDir: boolean
  try {
    isDir = statSync(path).isDirectory()
  } catch {
    throw new FormatError(path, 'no such file or folder')
  }
  if (isDir) return openHfFolder(path)
  if (path.toLowerCase().endsWith('.gguf')) return openGgufCheckpoint(path)
  throw new FormatError(path, 'expected a Hugging Face model folder or a .gguf file')
}
