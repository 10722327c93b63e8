// meta.yaml, the file ANEMLL's runtimes (Python chat, Swift CLI, the iOS/macOS app) read to find
// and drive the parts (contract §1.9, 0.3.5 §1.6). The app parses it line by line, so the layout
// (2-space model_info fields, 4-space parameters) is kept exactly.
import type { LutSpec } from '../arch/weights.js'
import { VERSION } from '../version.js'

export interface MetaInfo {
  modelName: string
  architecture: string
  context: number
  batch: number
  chunks: number
  prefix: string
  lut: { embeddings?: LutSpec; ffn?: LutSpec; lmHead?: LutSpec }
  splitLmHead: number
  vocabSize: number
  lmHeadChunkSizes: number[]
  argmax: boolean
  /** Architecture-specific `parameters` keys (Gemma: sliding_window, single_cache). */
  extra?: Record<string, string | number | boolean>
  /** File names (with .mlmodelc) as written. */
  files: { embeddings: string; lmHead: string; ffn: string } | { monolithic: string }
  /** Troubleshooting comment lines (`# key: value`). */
  conversion: Record<string, string | number | boolean>
}

const lutValue = (l?: LutSpec) => (l ? String(l.bits) : 'none')

/** YAML-quotes a comment value when it holds characters YAML treats specially. */
const q = (v: string | number | boolean) => {
  const s = String(v)
  return /[:#{}[\],&*!|>'"%@`]|^\s|\s$/.test(s) ? JSON.stringify(s) : s
}

export function metaYaml(m: MetaInfo): string {
  const mono = 'monolithic' in m.files
  const lines = [
    'model_info:',
    `  name: anemll-${m.modelName}-ctx${m.context}${mono ? '-monolithic' : ''}`,
    '  version: 0.3.5',
    ...(mono ? ['  model_type: monolithic'] : []),
    '  description: |',
    `    Demonstarates running ${m.modelName} on Apple Neural Engine`,
    `    Context length: ${m.context}`,
    `    Batch size: ${m.batch}`,
    `    Chunks: ${m.chunks}`,
    '  license: MIT',
    '  author: Anemll',
    '  framework: Core ML',
    '  language: Python',
    `  architecture: ${m.architecture}`,
    '  parameters:',
    `    context_length: ${m.context}`,
    `    batch_size: ${m.batch}`,
  ]
  const perChannel = (key: string, l?: LutSpec) =>
    l ? [`    ${key}_per_channel: ${l.groupSize}`] : []
  if ('monolithic' in m.files) {
    lines.push(`    lut_bits: ${lutValue(m.lut.ffn)}`, ...perChannel('lut', m.lut.ffn))
    if (lutValue(m.lut.embeddings) !== lutValue(m.lut.ffn))
      lines.push(`    lut_embeddings: ${lutValue(m.lut.embeddings)}`)
    if (lutValue(m.lut.lmHead) !== lutValue(m.lut.ffn))
      lines.push(`    lut_lmhead: ${lutValue(m.lut.lmHead)}`)
    lines.push(`    model_prefix: ${m.prefix}`, `    monolithic_model: ${m.files.monolithic}`)
  } else {
    lines.push(
      `    lut_embeddings: ${lutValue(m.lut.embeddings)}`,
      ...perChannel('lut_embeddings', m.lut.embeddings),
      `    lut_ffn: ${lutValue(m.lut.ffn)}`,
      ...perChannel('lut_ffn', m.lut.ffn),
      `    lut_lmhead: ${lutValue(m.lut.lmHead)}`,
      ...perChannel('lut_lmhead', m.lut.lmHead),
      `    num_chunks: ${m.chunks}`,
      `    model_prefix: ${m.prefix}`,
      `    embeddings: ${m.files.embeddings}`,
      `    lm_head: ${m.files.lmHead}`,
      `    ffn: ${m.files.ffn}`,
    )
  }
  lines.push(
    `    split_lm_head: ${m.splitLmHead}`,
    `    vocab_size: ${m.vocabSize}`,
    `    lm_head_chunk_sizes: [${m.lmHeadChunkSizes.join(', ')}]`,
    ...(m.argmax ? ['    argmax_in_model: true'] : []),
    ...Object.entries(m.extra ?? {}).map(([k, v]) => `    ${k}: ${v}`),
    '    prefill_dynamic_slice: true',
    ...(mono ? ['    functions: [infer, prefill]'] : []),
    '',
    '# Conversion Parameters (for troubleshooting)',
    ...Object.entries({ ...m.conversion, anemll_version: `anemll-ts ${VERSION}` }).map(
      ([k, v]) => `# ${k}: ${q(v)}`,
    ),
    '',
  )
  return lines.join('\n')
}

/** `<org>-<name>` for a Hugging Face cache snapshot path, else the folder or file base name. */
export function modelDisplayName(path: string): string {
  const hub = /models--([^/]+)--([^/]+)\/snapshots\//.exec(path)
  if (hub) return `${hub[1]}-${hub[2]}`
  const base = path.replace(/\/+$/, '').split('/').pop() ?? 'model'
  return base.replace(/\.gguf$/i, '')
}
