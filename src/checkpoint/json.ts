import { readFileSync } from 'node:fs'
import { FormatError } from '../util/errors.js'

/** JSON files we read are configs and indexes: a few MB at most. */
const MAX_JSON_BYTES = 64 * 1024 * 1024

// Python's json.dump writes NaN/Infinity as bare tokens. They are swapped for marker strings
// (outside string literals only) and revived as numbers, so validators can name the bad key.
const TOKENS = /"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)/g
const MARK = '\u0000nonfinite:'
const REVIVE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity }

/** Reads a JSON file; a missing, oversized or malformed file is a FormatError naming it. */
export function readJsonFile(path: string): unknown {
  let text: string
  try {
    const buf = readFileSync(path)
    if (buf.length > MAX_JSON_BYTES) throw new Error(`${buf.length} bytes is too large`)
    text = buf.toString('utf8')
  } catch (err) {
    throw new FormatError(path, `cannot read: ${(err as Error).message}`)
  }
  return parseJson(path, text)
}

/** Parses JSON text (see readJsonFile); `path` names the source in errors. */
export function parseJson(path: string, text: string): unknown {
  // The marker's NUL is written as the escape \u0000 (raw control characters are not allowed
  // in JSON strings); JSON.parse decodes it back into MARK.
  const marked = text.replace(TOKENS, (m, bare: string | undefined) =>
    bare ? `"\\u0000nonfinite:${bare}"` : m,
  )
  try {
    return JSON.parse(marked, (_k, v: unknown) =>
      typeof v === 'string' && v.startsWith(MARK) ? REVIVE[v.slice(MARK.length)] : v,
    )
  } catch (err) {
    throw new FormatError(path, `not valid JSON: ${(err as Error).message}`)
  }
}

/** True for a plain JSON object. */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
