// Step 7: the tokenizer files the runtimes and the app load from the output folder. From a
// Hugging Face folder they are copied (0.3.5's list); from a GGUF they are rebuilt from its
// metadata as tokenizer.json + tokenizer_config.json.
import { copyFileSync, existsSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Checkpoint } from '../checkpoint/checkpoint.js'
import { tokenizerFilesFromGguf } from '../tokenizer/from-gguf.js'

/** The files step 7 may write (copied from a folder; the first three also from a GGUF). */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
  'chat_template.jinja',
  'added_tokens.json',
  'special_tokens_map.json',
  'generation_config.json',
]

function writeJson(path: string, value: unknown): void {
  writeFileSync(`${path}.partial`, `${JSON.stringify(value, null, 2)}\n`)
  renameSync(`${path}.partial`, path)
}

export function writeTokenizerFiles(ckpt: Checkpoint, out: string): string[] {
  const src = ckpt.tokenizerSource
  if (src.kind === 'gguf') {
    const { tokenizerJson, tokenizerConfig } = tokenizerFilesFromGguf(src.metadata, src.file)
    writeJson(join(out, 'tokenizer.json'), tokenizerJson)
    writeJson(join(out, 'tokenizer_config.json'), tokenizerConfig)
    const g = ckpt.generationConfig
    writeJson(join(out, 'generation_config.json'), {
      bos_token_id: g.bos_token_id,
      eos_token_id: g.eos_token_id,
    })
    return ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']
  }
  const copied: string[] = []
  for (const name of TOKENIZER_FILES) {
    const from = join(src.dir, name)
    if (!existsSync(from)) continue
    copyFileSync(from, join(out, `${name}.partial`))
    renameSync(join(out, `${name}.partial`), join(out, name))
    copied.push(name)
  }
  return copied
}
