// Tokens of MIL text (`model.mil` in a compiled model). One pass over the text, no backtracking;
// every token keeps its line and column for error messages.
import { FormatError } from '../util/errors.js'

export type TokenKind = 'ident' | 'number' | 'string' | 'punct' | 'eof'

export interface Token {
  readonly kind: TokenKind
  /** Identifier or punctuation text; a number's source text; a string's decoded value. */
  readonly text: string
  readonly line: number
  readonly col: number
}

const PUNCT = new Set(['(', ')', '[', ']', '{', '}', '<', '>', ',', '=', ';', '?'])
const IDENT_START = /[A-Za-z_]/
const IDENT_PART = /[A-Za-z0-9_@.]/
// Decimal (1, -2.5, 1e-3), C99 hex floats (0x1.8p+1, -0x0p+0), and non-finite spellings.
const NUMBER =
  /-?(?:0[xX][0-9a-fA-F]*(?:\.[0-9a-fA-F]*)?(?:[pP][+-]?\d+)?|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)(?![A-Za-z0-9_])/y
const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '"': '"',
  '\\': '\\',
  "'": "'",
  '0': '\0',
}

/** Splits MIL text into tokens. Syntax errors are FormatErrors naming `file`, line and column. */
export function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  let line = 1
  let lineStart = 0
  const fail = (msg: string): never => {
    throw new FormatError(file, `line ${line} col ${i - lineStart + 1}: ${msg}`)
  }
  while (i < text.length) {
    const c = text[i]
    if (c === '\n') {
      i++
      line++
      lineStart = i
      continue
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++
      continue
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++
      continue
    }
    const col = i - lineStart + 1
    if (c === '-' && text[i + 1] === '>') {
      tokens.push({ kind: 'punct', text: '->', line, col })
      i += 2
      continue
    }
    if (
      c === '-' ||
      (c >= '0' && c <= '9') ||
      ((c === 'i' || c === 'n') && startsNumber(text, i))
    ) {
      NUMBER.lastIndex = i
      const m = NUMBER.exec(text)
      if (!m) fail(`expected a number, got '${text.slice(i, i + 12)}'`)
      tokens.push({ kind: 'number', text: m![0], line, col })
      i += m![0].length
      continue
    }
    if (IDENT_START.test(c)) {
      let j = i + 1
      while (j < text.length && IDENT_PART.test(text[j])) j++
      tokens.push({ kind: 'ident', text: text.slice(i, j), line, col })
      i = j
      continue
    }
    if (c === '"') {
      let value = ''
      let j = i + 1
      for (;;) {
        if (j >= text.length || text[j] === '\n') fail('unterminated string')
        const d = text[j]
        if (d === '"') break
        if (d === '\\') {
          const e = text[j + 1]
          if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(j + 2, j + 4))) {
            value += String.fromCharCode(parseInt(text.slice(j + 2, j + 4), 16))
            j += 4
            continue
          }
          if (!(e in ESCAPES)) fail(`unknown escape '\\${e ?? ''}' in string`)
          value += ESCAPES[e]
          j += 2
          continue
        }
        value += d
        j++
      }
      tokens.push({ kind: 'string', text: value, line, col })
      i = j + 1
      continue
    }
    if (PUNCT.has(c)) {
      tokens.push({ kind: 'punct', text: c, line, col })
      i++
      continue
    }
    fail(`unexpected character '${c}'`)
  }
  tokens.push({ kind: 'eof', text: 'end of file', line, col: i - lineStart + 1 })
  return tokens
}

// `inf`/`nan` are numbers only when not the start of an identifier such as `input`.
function startsNumber(text: string, i: number): boolean {
  return /^(?:inf(?:inity)?|nan)(?![A-Za-z0-9_])/.test(text.slice(i, i + 9))
}

/** A number token's value as a float (C99 hex floats included). NaN only for `nan`. */
export function numberValue(text: string): number {
  const neg = text.startsWith('-')
  const body = neg ? text.slice(1) : text
  let v: number
  if (body === 'nan') v = NaN
  else if (body.startsWith('inf')) v = Infinity
  else if (/^0[xX]/.test(body)) v = hexFloat(body.slice(2))
  else v = Number(body)
  return neg ? -v : v
}

/** `1.8p+1` (the part after 0x) → 3. */
function hexFloat(s: string): number {
  const [mant, exp = '0'] = s.split(/[pP]/)
  const [int, frac = ''] = mant.split('.')
  let v = 0
  for (const ch of int) v = v * 16 + parseInt(ch, 16)
  let scale = 1 / 16
  for (const ch of frac) {
    v += parseInt(ch, 16) * scale
    scale /= 16
  }
  // 0 × 2^huge would be NaN
  return v === 0 ? 0 : v * 2 ** Number(exp)
}
