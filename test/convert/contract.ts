// Reads ANEMLL's interface tables out of the contract documents, so conversions are checked
// against the documents themselves rather than against a copy of them.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export const SHARED_DOCS = join(import.meta.dirname, '../../../shared/docs')

export interface IoRow {
  kind: 'input' | 'output' | 'state'
  name: string
  /** Shape text as written, e.g. "`[1,1,H]`" or "enumerated `[1,1]` (default) or `[1,B]`". */
  shape: string
  type: string
}

/** The markdown section whose heading starts with `### <number>` (up to the next heading). */
function section(doc: string, number: string): string {
  const start = doc.indexOf(`\n### ${number} `)
  if (start < 0) throw new Error(`section ${number} not found in the contract`)
  const end = doc.indexOf('\n### ', start + 5)
  return doc.slice(start, end < 0 ? undefined : end)
}

function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[-| ]+\|$/.test(l))
    .slice(1)
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    )
}

/** I/O rows of a part's table (§2.1 embeddings, §2.2 infer, §2.3 prefill, §2.7 LM head). */
export function ioTable(number: string): IoRow[] {
  const doc = readFileSync(join(SHARED_DOCS, 'anemll-contract.md'), 'utf8')
  return tableRows(section(doc, number)).map(([kind, name, shape, type]) => ({
    kind: kind.replace(/s$/, '') as IoRow['kind'],
    name: name.replace(/`/g, ''),
    shape,
    type,
  }))
}

/** meta.yaml keys of the §1.9 table, with their documented YAML type. */
export function metaKeys(): { key: string; type: string }[] {
  const doc = readFileSync(join(SHARED_DOCS, 'anemll-contract.md'), 'utf8')
  return tableRows(section(doc, '1.9'))
    .filter((r) => r[0].startsWith('`'))
    .flatMap(([keys, type]) =>
      keys.split('/').map((k) => {
        const key = k.trim().replace(/`/g, '')
        return { key: key.includes('.') ? key : `model_info.${key}`, type }
      }),
    )
}

/** Evaluates a documented shape like `[2L, nKV, S, hd]` with the model's sizes. */
export function evalShape(text: string, sym: Record<string, number>): number[] {
  const m = /\[([^\]]+)\]/.exec(text)
  if (!m) throw new Error(`no shape in '${text}'`)
  return m[1].split(',').map((t) => {
    const e = t.trim()
    const k = /^(\d*)([A-Za-z_]\w*)$/.exec(e)
    if (/^\d+$/.test(e)) return Number(e)
    if (!k || !(k[2] in sym)) throw new Error(`unknown dimension '${e}' in '${text}'`)
    return (k[1] ? Number(k[1]) : 1) * sym[k[2]]
  })
}

export const DTYPES: Record<string, string> = { float16: 'fp16', int32: 'int32' }
/** `model.model.kv_cache_0` → `model_model_kv_cache_0` (MIL identifiers have no dots). */
export const featureName = (n: string) => n.replace(/\./g, '_')
