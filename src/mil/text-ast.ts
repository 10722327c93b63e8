// Syntax of MIL text (format doc §8.2): a recursive-descent parser from tokens to a small syntax
// tree. Meaning (scopes, op specs, values) is given in parse.ts. Accepts both printer generations:
// `tensor<string, []>("x")` and `string("x")` scalars, `program(1.0)` and `program(1.3)`.
import { FormatError } from '../util/errors.js'
import { Lexer, numberValue, type Token } from './text-lexer.js'
import { isDType, state, tensor, type Dim, type ValueType } from './types.js'

/** Where a syntax element starts, for error messages. */
export interface Pos {
  readonly line: number
  readonly col: number
}

/** The contents of a literal, before a type gives it meaning. */
export type RawValue =
  | { readonly kind: 'number'; readonly text: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'array' | 'tuple'; readonly items: readonly RawValue[] }
  | { readonly kind: 'dict'; readonly entries: readonly (readonly [RawValue, RawValue])[] }
  | { readonly kind: 'blob'; readonly path: TypedValue; readonly offset: TypedValue }
  | TypedValue

/** `tensor<int32, [2]>([1, 1])`, `string("x")`, `dict<K, V>({{k, v}})`. */
export interface TypedValue {
  readonly kind: 'typed'
  readonly type: ValueType
  readonly value: RawValue
  readonly pos: Pos
}

/** An op argument: a var name, a tuple of arguments `(a, b)`, or an inline literal. */
export type ArgAst =
  | { readonly kind: 'var'; readonly name: string; readonly pos: Pos }
  | { readonly kind: 'tuple'; readonly items: readonly ArgAst[]; readonly pos: Pos }
  | TypedValue

export interface NamedType {
  readonly type: ValueType
  readonly name: string
  readonly pos: Pos
}

export interface StmtAst {
  readonly outputs: readonly NamedType[]
  readonly op: string
  readonly args: readonly (readonly [string, ArgAst])[]
  readonly attrs: readonly (readonly [string, TypedValue])[]
  readonly blocks: readonly BlockAst[]
  readonly pos: Pos
}

export interface BlockAst {
  /** Header name of a nested block (`loop_cond(...)`), if the text gives one. */
  readonly name?: string
  readonly inputs: readonly NamedType[]
  readonly stmts: readonly StmtAst[]
  readonly outputs: readonly { readonly name: string; readonly pos: Pos }[]
}

export interface FunctionAst {
  readonly name: string
  /** `ios18`, `CoreML8`, ... as written. */
  readonly opsetTag: string
  readonly attrs: readonly (readonly [string, TypedValue])[]
  readonly block: BlockAst
  readonly pos: Pos
}

export interface ProgramAst {
  /** `1.0`, `1.3`: the printer's version. */
  readonly version: string
  readonly attrs: readonly (readonly [string, TypedValue])[]
  readonly functions: readonly FunctionAst[]
}

/** Deepest nesting of types, literals, tuples and blocks we accept (hostile input). */
export const MAX_DEPTH = 64
const TYPE_WORDS = new Set(['tensor', 'state', 'list', 'tuple', 'dict'])

/** Parses MIL text into a syntax tree; errors are FormatError(file, 'line L col C: ...'). */
export function parseMilSyntax(text: string, file: string): ProgramAst {
  return new SyntaxParser(new Lexer(text, file), file).program()
}

class SyntaxParser {
  #depth = 0
  /** Tokens read ahead (at most two) and the last one consumed. */
  readonly #ahead: Token[] = []
  #prev: Token | undefined
  constructor(
    readonly lexer: Lexer,
    readonly file: string,
  ) {}

  // List items, made once per parser rather than once per list (hot on big files).
  readonly #outputName = () => ({ pos: this.pos(), name: this.ident('an output name') })
  readonly #param = (): NamedType => {
    const pos = this.pos()
    const type = this.type()
    return { type, name: this.ident('an input name'), pos }
  }
  readonly #argPair = () => {
    const param = this.ident('a parameter name')
    this.punct('=')
    return [param, this.arg()] as const
  }
  readonly #arg = () => this.arg()
  readonly #attrPair = (): [string, TypedValue] => {
    const key = this.ident('an attribute name')
    this.punct('=')
    return [key, this.typed()]
  }
  readonly #raw = () => this.raw()
  readonly #dictEntry = () => {
    this.punct('{')
    const k = this.raw()
    this.punct(',')
    const val = this.raw()
    this.punct('}')
    return [k, val] as const
  }
  readonly #dim = () => this.dim()

  program(): ProgramAst {
    this.word('program')
    this.punct('(')
    const version = this.take('number', 'a version number').text
    this.punct(')')
    const attrs = this.peekIs('[') ? this.attrs() : []
    this.punct('{')
    const functions: FunctionAst[] = []
    while (!this.peekIs('}')) functions.push(this.func())
    this.punct('}')
    this.take('eof', 'end of file')
    return { version, attrs, functions }
  }

  func(): FunctionAst {
    const pos = this.pos()
    this.word('func')
    const name = this.ident('a function name')
    this.punct('<')
    const opsetTag = this.ident('an opset such as ios18')
    this.punct('>')
    const inputs = this.params()
    const attrs = this.peekIs('[') ? this.attrs() : []
    const block = this.body(inputs)
    this.punct(';')
    return { name, opsetTag, attrs, block, pos }
  }

  /** `{ stmts } -> (outs)` */
  body(inputs: NamedType[], name?: string): BlockAst {
    this.enter()
    this.punct('{')
    const stmts: StmtAst[] = []
    while (!this.peekIs('}')) stmts.push(this.stmt())
    this.punct('}')
    this.punct('->')
    this.punct('(')
    const outputs = this.list(')', this.#outputName)
    this.#depth--
    return { name, inputs, stmts, outputs }
  }

  params(): NamedType[] {
    this.punct('(')
    return this.list(')', this.#param)
  }

  stmt(): StmtAst {
    const pos = this.pos()
    const outputs: NamedType[] = []
    if (!(this.peek().kind === 'ident' && this.peekIs('(', 1))) {
      do {
        const p = this.pos()
        const type = this.type()
        outputs.push({ type, name: this.ident('a var name'), pos: p })
      } while (this.accept(','))
      this.punct('=')
    }
    const op = this.ident('an op type')
    this.punct('(')
    const args = this.list(')', this.#argPair)
    const attrs = this.peekIs('[') ? this.attrs() : []
    const blocks: BlockAst[] = []
    while (!this.peekIs(';')) {
      const name = this.peek().kind === 'ident' ? this.ident('a block name') : undefined
      if (!this.peekIs('(')) this.expected("';' or a nested block")
      blocks.push(this.body(this.params(), name))
    }
    this.punct(';')
    return { outputs, op, args, attrs, blocks, pos }
  }

  arg(): ArgAst {
    const pos = this.pos()
    if (this.accept('(')) {
      this.enter()
      const items = this.list(')', this.#arg)
      this.#depth--
      return { kind: 'tuple', items, pos }
    }
    if (this.startsType()) return this.typed()
    return { kind: 'var', name: this.ident('a var name or a literal'), pos }
  }

  attrs(): [string, TypedValue][] {
    this.punct('[')
    return this.list(']', this.#attrPair)
  }

  typed(): TypedValue {
    const pos = this.pos()
    this.enter()
    const type = this.type()
    this.punct('(')
    const value = this.raw()
    this.punct(')')
    this.#depth--
    return { kind: 'typed', type, value, pos }
  }

  raw(): RawValue {
    const t = this.peek()
    if (t.kind === 'number') return (this.next(), { kind: 'number', text: t.text })
    if (t.kind === 'string') return (this.next(), { kind: 'string', value: t.text })
    if (t.kind === 'ident' && (t.text === 'true' || t.text === 'false'))
      return (this.next(), { kind: 'bool', value: t.text === 'true' })
    if (t.kind === 'ident' && t.text === 'BLOBFILE') return this.blob()
    if (this.startsType()) return this.typed()
    this.enter()
    let v: RawValue
    if (this.accept('[')) v = { kind: 'array', items: this.list(']', this.#raw) }
    else if (this.accept('(')) v = { kind: 'tuple', items: this.list(')', this.#raw) }
    else if (this.accept('{'))
      v = {
        kind: 'dict',
        entries: this.list('}', this.#dictEntry),
      }
    else return this.expected('a literal value')
    this.#depth--
    return v
  }

  blob(): RawValue {
    this.word('BLOBFILE')
    this.punct('(')
    const fields = new Map<string, TypedValue>()
    this.list(')', () => {
      const key = this.ident("'path' or 'offset'")
      this.punct('=')
      fields.set(key, this.typed())
    })
    const path = fields.get('path')
    const offset = fields.get('offset')
    if (!path || !offset) this.expected('BLOBFILE(path = ..., offset = ...)')
    return { kind: 'blob', path: path!, offset: offset! }
  }

  type(): ValueType {
    const word = this.ident('a type')
    if (isDType(word)) return tensor(word, [])
    if (!TYPE_WORDS.has(word)) this.fail(this.prev(), `unknown type '${word}'`)
    this.enter()
    this.punct('<')
    let t: ValueType
    if (word === 'tensor') {
      const d = this.ident('a dtype')
      if (!isDType(d)) this.fail(this.prev(), `unknown dtype '${d}'`)
      this.punct(',')
      this.punct('[')
      t = tensor(d as never, this.list(']', this.#dim))
    } else if (word === 'state') {
      const w = this.type()
      if (w.kind !== 'tensor') this.fail(this.prev(), 'a state must wrap a tensor')
      t = state(w as never)
    } else if (word === 'list') {
      const elem = this.type()
      this.punct(',')
      t = { kind: 'list', elem, length: this.dim() }
    } else if (word === 'dict') {
      const key = this.type()
      this.punct(',')
      t = { kind: 'dict', key, value: this.type() }
    } else {
      const types = [this.type()]
      while (this.accept(',')) types.push(this.type())
      t = { kind: 'tuple', types }
    }
    this.punct('>')
    this.#depth--
    return t
  }

  dim(): Dim {
    if (this.accept('?')) return '?'
    const t = this.peek()
    if (t.kind === 'ident') return this.next().text
    const n = numberValue(this.take('number', "a dimension or '?'").text)
    if (!Number.isSafeInteger(n) || n < 0)
      this.fail(this.prev(), `bad dimension ${this.prev().text}`)
    return n
  }

  // ---- token helpers ----

  list<T>(close: string, item: () => T): T[] {
    const out: T[] = []
    if (this.accept(close)) return out
    do out.push(item())
    while (this.accept(','))
    this.punct(close)
    return out
  }

  startsType(): boolean {
    const t = this.peek()
    if (t.kind !== 'ident') return false
    return (
      (TYPE_WORDS.has(t.text) && this.peekIs('<', 1)) || (isDType(t.text) && this.peekIs('(', 1))
    )
  }

  enter(): void {
    if (++this.#depth > MAX_DEPTH) this.fail(this.peek(), `nesting deeper than ${MAX_DEPTH}`)
  }

  peek(k = 0): Token {
    while (this.#ahead.length <= k) this.#ahead.push(this.lexer.next())
    return this.#ahead[k]
  }

  peekIs(punct: string, k = 0): boolean {
    const t = this.peek(k)
    return t.kind === 'punct' && t.text === punct
  }

  prev(): Token {
    return this.#prev ?? this.peek()
  }

  next(): Token {
    const t = this.peek()
    if (t.kind !== 'eof') this.#prev = this.#ahead.shift()
    return t
  }

  pos(): Pos {
    const t = this.peek()
    return { line: t.line, col: t.col }
  }

  accept(punct: string): boolean {
    if (!this.peekIs(punct)) return false
    this.next()
    return true
  }

  punct(p: string): void {
    if (!this.accept(p)) this.expected(`'${p}'`)
  }

  word(w: string): void {
    const t = this.peek()
    if (t.kind !== 'ident' || t.text !== w) this.expected(`'${w}'`)
    this.next()
  }

  ident(what: string): string {
    return this.take('ident', what).text
  }

  take(kind: Token['kind'], what: string): Token {
    if (this.peek().kind !== kind) this.expected(what)
    return this.next()
  }

  expected(what: string): never {
    const t = this.peek()
    const got =
      t.kind === 'eof'
        ? 'end of file'
        : t.kind === 'string'
          ? JSON.stringify(t.text)
          : `'${t.text}'`
    return this.fail(t, `expected ${what}, got ${got}`)
  }

  fail(t: Token, msg: string): never {
    throw new FormatError(this.file, `line ${t.line} col ${t.col}: ${msg}`)
  }
}
