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

/**
 * Reads MIL text one token at a time (memory stays flat however long the text is). Syntax
 * errors are FormatErrors naming `file`, line and column.
 */
export class Lexer {
  #i = 0
  #line = 1
  #lineStart = 0

  constructor(
    readonly text: string,
    readonly file: string,
  ) {}

  next(): Token {
    const text = this.text
    let i = this.#i
    // No closures here: this runs once per token.
    while (i < text.length) {
      const c = text[i]
      if (c === '\n') {
        i++
        this.#line++
        this.#lineStart = i
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
      const col = i - this.#lineStart + 1
      if (c === '-' && text[i + 1] === '>') return this.#emit('punct', '->', i + 2, col)
      if (
        c === '-' ||
        (c >= '0' && c <= '9') ||
        ((c === 'i' || c === 'n') && startsNumber(text, i))
      ) {
        NUMBER.lastIndex = i
        const m = NUMBER.exec(text)
        if (!m) this.#fail(i, `expected a number, got '${text.slice(i, i + 12)}'`)
        return this.#emit('number', m![0], i + m![0].length, col)
      }
      if (IDENT_START.test(c)) {
        let j = i + 1
        while (j < text.length && IDENT_PART.test(text[j])) j++
        return this.#emit('ident', text.slice(i, j), j, col)
      }
      if (c === '"') {
        let value = ''
        let j = i + 1
        for (;;) {
          if (j >= text.length || text[j] === '\n') this.#fail(i, 'unterminated string')
          const d = text[j]
          if (d === '"') break
          if (d === '\\') {
            const e = text[j + 1]
            if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(j + 2, j + 4))) {
              value += String.fromCharCode(parseInt(text.slice(j + 2, j + 4), 16))
              j += 4
              continue
            }
            if (!(e in ESCAPES)) this.#fail(i, `unknown escape '\\${e ?? ''}' in string`)
            value += ESCAPES[e]
            j += 2
            continue
          }
          value += d
          j++
        }
        return this.#emit('string', value, j + 1, col)
      }
      if (PUNCT.has(c)) return this.#emit('punct', c, i + 1, col)
      this.#fail(i, `unexpected character '${c}'`)
    }
    return this.#emit('eof', 'end of file', i, i - this.#lineStart + 1)
  }

  #emit(kind: TokenKind, value: string, end: number, col: number): Token {
    this.#i = end
    return { kind, text: value, line: this.#line, col }
  }

  #fail(i: number, msg: string): never {
    throw new FormatError(this.file, `line ${this.#line} col ${i - this.#lineStart + 1}: ${msg}`)
  }
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
