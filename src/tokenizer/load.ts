// One entry point for a checkpoint's tokenizer, wherever it is stored.
import type { TokenizerSource } from '../checkpoint/checkpoint.js'
import { tokenizerFromGguf } from './from-gguf.js'
import { Tokenizer } from './tokenizer.js'

/**
 * The tokenizer of a checkpoint: a Hugging Face folder's tokenizer files, or a GGUF's metadata.
 * @example const tok = await loadTokenizer((await openCheckpoint(path)).tokenizerSource)
 */
export async function loadTokenizer(source: TokenizerSource): Promise<Tokenizer> {
  if (source.kind === 'gguf') return tokenizerFromGguf(source.metadata, source.file)
  return Tokenizer.load(source.dir)
}
