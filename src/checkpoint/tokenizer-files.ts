import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { HfTokenizerFiles } from './checkpoint.js'

/** File name of each tokenizer file a Hugging Face folder may hold. */
const FILES = {
  tokenizerJson: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  specialTokensMap: 'special_tokens_map.json',
  chatTemplateJinja: 'chat_template.jinja',
  chatTemplateJson: 'chat_template.json',
  tokenizerModel: 'tokenizer.model',
} as const

/** The tokenizer files present in `dir` (missing ones are left out). */
export function findTokenizerFiles(dir: string): HfTokenizerFiles {
  const out: HfTokenizerFiles = { kind: 'hf', dir }
  for (const [key, name] of Object.entries(FILES) as [keyof typeof FILES, string][]) {
    const p = join(dir, name)
    if (existsSync(p)) out[key] = p
  }
  return out
}
