// meta.yaml → what the engine needs to drive a converted model (contract §1.9, 0.3.5 §1.6), and
// the part files it names. Names resolve as ANEMLL's Python does: the name as written, then with
// `.mlmodelc`, then `.mlpackage` (so a conversion made off a Mac, which has only packages, loads).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { FormatError, UsageError } from '../util/errors.js'

/** The parameters of a meta.yaml, with ANEMLL's defaults filled in. */
export interface ModelMeta {
  /** The meta.yaml file; part and tokenizer paths are relative to its folder. */
  file: string
  dir: string
  name?: string
  version: string
  architecture?: string
  monolithic: boolean
  /** C: positions in the causal mask and rows in the KV cache. */
  context: number
  /** B: tokens per `prefill` call. */
  batch: number
  chunks: number
  prefix: string
  /** K: number of LM-head outputs (logits1..K or argmax entries). */
  splitLmHead: number
  /** The LM head returns argmax_idx/argmax_val instead of logits (greedy only). */
  argmax: boolean
  vocabSize?: number
  lmHeadChunkSizes?: number[]
  /**
   * Full batches may go through `prefill` at any position. 0.3.4-era files lack the 0.3.5 flags;
   * for them ANEMLL 0.3.5 feeds every prompt token through `infer`, and so do we.
   */
  batchPrefill: boolean
  tokenizerDir: string
  /** Part names as meta.yaml gives them (or as ANEMLL rebuilds them from prefix and LUT bits). */
  names: { embeddings: string; lmHead: string; ffn: string } | { monolithic: string }
}

/** Absolute paths of the parts on disk. */
export type PartPaths = (
  | { kind: 'chunked'; embeddings: string; lmHead: string; chunks: string[] }
  | { kind: 'monolithic'; model: string }
) & {
  /** One line per part found under another name than meta.yaml gives (see resolveParts). */
  notes: string[]
}

const EXTENSIONS = ['.mlmodelc', '.mlpackage']

/** meta.yaml itself, or the meta.yaml inside a folder. */
export function metaPath(path: string): string {
  const p = resolve(path)
  if (existsSync(p) && statSync(p).isDirectory()) {
    const inside = join(p, 'meta.yaml')
    if (!existsSync(inside)) throw new UsageError(`${path}: no meta.yaml in this folder`)
    if (!statSync(inside).isFile()) throw new UsageError(`${inside}: not a file`)
    return inside
  }
  if (!existsSync(p)) throw new UsageError(`${path}: no such meta.yaml or folder`)
  return p
}

type Params = Record<string, unknown>

function int(p: Params, key: string, file: string, fallback?: number): number {
  const v = p[key]
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback
    throw new FormatError(file, `parameters.${key} is missing`)
  }
  const n = typeof v === 'string' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
    throw new FormatError(
      file,
      `parameters.${key} must be a positive integer, got ${JSON.stringify(v)}`,
    )
  return n
}

/** A LUT value: bits as a number, or undefined for `none` (no suffix). */
function lutBits(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined
}

const lutSuffix = (v: unknown) => (lutBits(v) ? `_lut${lutBits(v)}` : '')

function intList(v: unknown, file: string, key: string): number[] | undefined {
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || v.some((x) => !Number.isInteger(x) || x < 1))
    throw new FormatError(file, `parameters.${key} must be a list of positive integers`)
  return v as number[]
}

/** Parses meta.yaml text. */
export function parseMeta(text: string, file: string): ModelMeta {
  let doc: unknown
  try {
    doc = parseYaml(text, { logLevel: 'error' }) // warnings would go to stderr
  } catch (err) {
    throw new FormatError(file, `not valid YAML: ${(err as Error).message.split('\n')[0]}`)
  }
  const info = (doc as { model_info?: Params } | null)?.model_info
  if (!info || typeof info !== 'object') throw new FormatError(file, 'no model_info section')
  const p = info.parameters as Params | undefined
  if (!p || typeof p !== 'object') throw new FormatError(file, 'no model_info.parameters section')
  const monolithic = info.model_type === 'monolithic'
  const prefix = typeof p.model_prefix === 'string' ? p.model_prefix : 'llama'
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined)
  const names: ModelMeta['names'] = monolithic
    ? {
        monolithic:
          str(p.monolithic_model) ?? `${prefix}_monolithic_full${lutSuffix(p.lut_bits)}.mlmodelc`,
      }
    : {
        embeddings: str(p.embeddings) ?? `${prefix}_embeddings${lutSuffix(p.lut_embeddings)}`,
        lmHead: str(p.lm_head) ?? `${prefix}_lm_head${lutSuffix(p.lut_lmhead)}`,
        ffn: str(p.ffn) ?? `${prefix}_FFN_PF${lutSuffix(p.lut_ffn)}`,
      }
  const dir = dirname(file)
  const context = int(p, 'context_length', file)
  const batch = int(p, 'batch_size', file)
  if (batch > context)
    throw new FormatError(file, `batch_size ${batch} is larger than context_length ${context}`)
  return {
    file,
    dir,
    name: str(info.name),
    version: String(info.version ?? '1.0'),
    architecture: str(info.architecture),
    monolithic,
    context,
    batch,
    chunks: monolithic ? 1 : int(p, 'num_chunks', file, 1),
    prefix,
    splitLmHead: int(p, 'split_lm_head', file, 8),
    argmax: p.argmax_in_model === true || p.argmax_in_model === 'true',
    vocabSize: p.vocab_size === undefined ? undefined : int(p, 'vocab_size', file),
    lmHeadChunkSizes: intList(p.lm_head_chunk_sizes, file, 'lm_head_chunk_sizes'),
    batchPrefill: p.prefill_dynamic_slice === true || p.update_mask_prefill === true,
    tokenizerDir: str(p.tokenizer_path) ? resolve(dir, p.tokenizer_path as string) : dir,
    names,
  }
}

/** Reads and parses a meta.yaml (or the one inside a folder). */
export function readMeta(path: string): ModelMeta {
  const file = metaPath(path)
  return parseMeta(readFileSync(file, 'utf8'), file)
}

/** `name` as written, else with .mlmodelc, else with .mlpackage; undefined when none exists. */
function findModel(dir: string, name: string): string | undefined {
  const base = name.replace(/\.(mlmodelc|mlpackage)\/?$/, '')
  for (const candidate of [name, ...EXTENSIONS.map((e) => base + e)]) {
    const p = resolve(dir, candidate)
    if (/\.(mlmodelc|mlpackage)$/.test(p) && existsSync(p)) return p
  }
  return undefined
}

/** What a part is, as a file-name pattern after the model prefix. */
const ROLE_PATTERNS = {
  embeddings: () => '_embeddings(_lut\\d+)?',
  'LM head': () => '_lm_head(_lut\\d+)?',
  'monolithic model': () => '_monolithic(_full)?(_lut\\d+)?',
  chunk: (i: number, n: number) =>
    `_FFN(_PF)?(_lut\\d+)?_chunk_${String(i).padStart(2, '0')}of${String(n).padStart(2, '0')}`,
}

/**
 * The part files in `dir` (a .mlmodelc and a .mlpackage of one name count once, .mlmodelc
 * preferred) whose names are the model prefix and the role's pattern.
 */
function candidates(dir: string, prefix: string, pattern: string): string[] {
  const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${pattern}$`)
  const bases = new Set<string>()
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    const m = /^(.*)\.(mlmodelc|mlpackage)$/.exec(f)
    if (m && re.test(m[1])) bases.add(m[1])
  }
  return [...bases].sort().map((b) => findModel(dir, b)!)
}

function requireModel(
  meta: ModelMeta,
  name: string,
  what: string,
  pattern: string,
  notes: string[],
  alt?: string,
): string {
  const found = findModel(meta.dir, name) ?? (alt ? findModel(meta.dir, alt) : undefined)
  if (found) return found
  const base = name.replace(/\.(mlmodelc|mlpackage)$/, '')
  const missing = `${what}: neither ${base}.mlmodelc nor ${base}.mlpackage exists`
  // meta.yaml written before the parts were compiled, or with a LUT key that disagrees with the
  // file (ANEMLL's generate_meta_yaml.py does both): one part of that role is unambiguous
  const c = candidates(meta.dir, meta.prefix, pattern)
  if (c.length === 1) {
    notes.push(`${meta.file}: ${missing}; using ${basename(c[0])}, the one ${what} file there`)
    return c[0]
  }
  throw new FormatError(
    meta.file,
    c.length
      ? `${missing}, and ${c.length} files could be it: ${c.map((p) => basename(p)).join(', ')}`
      : missing,
  )
}

/** The file of chunk i (1-based): 0.3.5 names chunk 1 in `ffn`, 0.3.4 names none. */
export function chunkName(ffn: string, i: number, n: number): string {
  const two = (x: number) => String(x).padStart(2, '0')
  const tag = `_chunk_${two(i)}of${two(n)}`
  if (/_chunk_\d+of\d+/.test(ffn)) return ffn.replace(/_chunk_\d+of\d+/, tag)
  const m = /\.(mlmodelc|mlpackage)$/.exec(ffn)
  return m ? ffn.slice(0, m.index) + tag + m[0] : ffn + tag
}

/** Finds every part file on disk. */
export function resolveParts(meta: ModelMeta): PartPaths {
  const n = meta.names
  const notes: string[] = []
  const R = ROLE_PATTERNS
  if ('monolithic' in n) {
    const what = 'monolithic model'
    return {
      kind: 'monolithic',
      model: requireModel(meta, n.monolithic, what, R[what](), notes),
      notes,
    }
  }
  return {
    kind: 'chunked',
    // Python's second pass: an embeddings name with a LUT suffix falls back to the plain one.
    embeddings: requireModel(
      meta,
      n.embeddings,
      'embeddings',
      R.embeddings(),
      notes,
      n.embeddings.replace(/_lut\d+/, ''),
    ),
    lmHead: requireModel(meta, n.lmHead, 'LM head', R['LM head'](), notes),
    chunks: Array.from({ length: meta.chunks }, (_, i) =>
      requireModel(
        meta,
        chunkName(n.ffn, i + 1, meta.chunks),
        `FFN chunk ${i + 1}`,
        R.chunk(i + 1, meta.chunks),
        notes,
      ),
    ),
    notes,
  }
}
