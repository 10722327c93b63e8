// GGUF tokenizer metadata → the tokenizer.json + tokenizer_config.json that Hugging Face would ship
// for the same model, so one Tokenizer class serves folders and GGUF files alike.
//
//   tokenizer.ggml.model       'gpt2' (byte-level BPE: tokens + merges) or 'llama' (sentencepiece:
//                              tokens + scores, byte-fallback tokens <0x00>..<0xFF>)
//   tokenizer.ggml.pre         gpt2 only: which pre-tokenizer regex (llama.cpp's names)
//   tokenizer.ggml.token_type  per token: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
//   tokenizer.ggml.{bos,eos,unknown,padding}_token_id, add_bos_token, add_eos_token, add_space_prefix
//   tokenizer.chat_template
import type { GgufValue } from '../formats/gguf.js'
import { FormatError } from '../util/errors.js'
import { Tokenizer, type TokenizerConfig } from './tokenizer.js'

type Meta = ReadonlyMap<string, GgufValue>

const TOKEN_TYPE = { unknown: 2, control: 3, userDefined: 4 } as const

// Pre-tokenizer regexes as the models' own tokenizer.json files spell them.
const LLAMA3_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
const QWEN2_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

const byteLevel = (useRegex: boolean) => ({
  type: 'ByteLevel',
  add_prefix_space: false,
  trim_offsets: true,
  use_regex: useRegex,
})
const splitThenBytes = (regex: string) => ({
  type: 'Sequence',
  pretokenizers: [
    { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
    byteLevel(false),
  ],
})
const digitsThenBytes = {
  type: 'Sequence',
  pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel(true)],
}

interface PreSpec {
  preTokenizer: object
  normalizer?: object
  ignoreMerges?: boolean
  /** llama.cpp's default for add_bos_token when the GGUF does not say. */
  addBos?: boolean
}

/** `tokenizer.ggml.pre` (llama.cpp's names) → the HF pre-tokenization of that model family. */
const PRE_TOKENIZERS: Record<string, PreSpec> = {
  default: { preTokenizer: byteLevel(true) },
  gpt2: { preTokenizer: byteLevel(true) },
  'llama-bpe': { preTokenizer: splitThenBytes(LLAMA3_REGEX), ignoreMerges: true, addBos: true },
  llama3: { preTokenizer: splitThenBytes(LLAMA3_REGEX), ignoreMerges: true, addBos: true },
  qwen2: { preTokenizer: splitThenBytes(QWEN2_REGEX), normalizer: { type: 'NFC' } },
  'deepseek-r1-qwen': { preTokenizer: splitThenBytes(QWEN2_REGEX), normalizer: { type: 'NFC' } },
  smollm: { preTokenizer: digitsThenBytes },
  starcoder: { preTokenizer: digitsThenBytes },
  refact: { preTokenizer: digitsThenBytes },
}

/** tokenizer.json and tokenizer_config.json objects equivalent to a GGUF's tokenizer metadata. */
export interface GgufTokenizerFiles {
  tokenizerJson: Record<string, unknown>
  tokenizerConfig: TokenizerConfig
}

/**
 * Builds tokenizer.json + tokenizer_config.json from GGUF metadata (`file` names it in errors).
 * @example const { tokenizerJson } = tokenizerFilesFromGguf(readGguf(path).metadata, path)
 */
export function tokenizerFilesFromGguf(meta: Meta, file: string): GgufTokenizerFiles {
  const get = reader(meta, file)
  const kind = get.string('tokenizer.ggml.model')
  const tokens = get.strings('tokenizer.ggml.tokens')
  const types = get.numbers('tokenizer.ggml.token_type', tokens.length, true)
  const id = (key: string): string | undefined => {
    const v = get.optionalNumber(`tokenizer.ggml.${key}`)
    if (v === undefined) return undefined
    if (!Number.isInteger(v) || v < 0 || v >= tokens.length)
      throw new FormatError(file, `tokenizer.ggml.${key} = ${v} is not a token id`)
    return tokens[v]
  }
  const special = { bos: id('bos_token_id'), eos: id('eos_token_id') }
  let built: { model: object; rest: object; addBos: boolean }
  if (kind === 'gpt2') built = bpeModel(get, tokens, file)
  else if (kind === 'llama') built = spmModel(get, tokens, types, id('unknown_token_id'))
  else throw new FormatError(file, `tokenizer.ggml.model '${kind}' is not supported (gpt2, llama)`)

  const addBos = get.optionalBool('tokenizer.ggml.add_bos_token') ?? built.addBos
  const addEos = get.optionalBool('tokenizer.ggml.add_eos_token') ?? false
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(tokens, types),
    ...built.rest,
    post_processor: postProcessor(special, addBos, addEos, tokens),
    model: built.model,
  }
  const template = get.optionalString('tokenizer.chat_template')
  const tokenizerConfig: TokenizerConfig = {
    bos_token: special.bos ?? null,
    eos_token: special.eos ?? null,
    unk_token: id('unknown_token_id') ?? null,
    pad_token: id('padding_token_id') ?? null,
    add_bos_token: addBos,
    add_eos_token: addEos,
    clean_up_tokenization_spaces: false,
    ...(template !== undefined && { chat_template: template }),
  }
  return { tokenizerJson, tokenizerConfig }
}

/** The GGUF's tokenizer, ready to use. */
export function tokenizerFromGguf(meta: Meta, file: string): Tokenizer {
  const { tokenizerJson, tokenizerConfig } = tokenizerFilesFromGguf(meta, file)
  return Tokenizer.fromJSON(tokenizerJson, tokenizerConfig, file)
}

function bpeModel(get: Reader, tokens: string[], file: string) {
  const pre = get.optionalString('tokenizer.ggml.pre') ?? 'default'
  const spec = Object.hasOwn(PRE_TOKENIZERS, pre) ? PRE_TOKENIZERS[pre] : undefined
  if (!spec) {
    const known = Object.keys(PRE_TOKENIZERS).join(', ')
    throw new FormatError(file, `tokenizer.ggml.pre '${pre}' is not supported (${known})`)
  }
  const model = {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: spec.ignoreMerges ?? false,
    vocab: vocabOf(tokens),
    merges: get.strings('tokenizer.ggml.merges'),
  }
  const rest = {
    normalizer: spec.normalizer ?? null,
    pre_tokenizer: spec.preTokenizer,
    decoder: byteLevel(true),
  }
  return { model, rest, addBos: spec.addBos ?? false }
}

function spmModel(get: Reader, tokens: string[], types: number[], unk: string | undefined) {
  const scores = get.numbers('tokenizer.ggml.scores', tokens.length, false)
  const prefix = get.optionalBool('tokenizer.ggml.add_space_prefix') ?? true
  const model = {
    type: 'BPE',
    dropout: null,
    unk_token: unk ?? null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: true,
    byte_fallback: true,
    ignore_merges: false,
    vocab: vocabOf(tokens),
    merges: spmMerges(tokens, scores),
  }
  // transformers' legacy Llama tokenizer: "▁" before the text and for every space.
  const replace = { type: 'Replace', pattern: { String: ' ' }, content: '▁' }
  const rest = {
    normalizer: prefix
      ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, replace] }
      : replace,
    pre_tokenizer: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(prefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
  }
  return { model, rest, addBos: true }
}

/**
 * BPE merges of a sentencepiece vocabulary, derived as transformers' SentencePieceExtractor does:
 * every split of a piece into two vocabulary pieces, by the merged piece's score (descending, stable
 * in id order), then by the ids of the two halves.
 */
export function spmMerges(tokens: string[], scores: number[]): string[] {
  const ids = new Map<string, number>()
  tokens.forEach((t, i) => ids.has(t) || ids.set(t, i))
  const order = tokens.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b)
  const merges: string[] = []
  for (const i of order) {
    const chars = Array.from(tokens[i]) // split on code points, as Python does
    const local: [number, number, string][] = []
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('')
      const right = chars.slice(k).join('')
      const l = ids.get(left)
      const r = ids.get(right)
      if (l !== undefined && r !== undefined) local.push([l, r, `${left} ${right}`])
    }
    local.sort((a, b) => a[0] - b[0] || a[1] - b[1])
    for (const m of local) merges.push(m[2])
  }
  return merges
}

function vocabOf(tokens: string[]): Record<string, number> {
  const vocab: Record<string, number> = Object.create(null)
  tokens.forEach((t, i) => {
    if (!(t in vocab)) vocab[t] = i // a duplicated token keeps its first id
  })
  return vocab
}

// Control and unknown tokens are special added tokens; user-defined ones (Qwen3's <think>) are
// added but not special. All match as literal text, never normalized.
function addedTokens(tokens: string[], types: number[]) {
  const out = []
  for (let i = 0; i < tokens.length; i++) {
    const t = types[i]
    if (t !== TOKEN_TYPE.control && t !== TOKEN_TYPE.unknown && t !== TOKEN_TYPE.userDefined)
      continue
    out.push({
      id: i,
      content: tokens[i],
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: t !== TOKEN_TYPE.userDefined,
    })
  }
  return out
}

function postProcessor(
  special: { bos?: string; eos?: string },
  addBos: boolean,
  addEos: boolean,
  tokens: string[],
): object {
  const bos = addBos ? special.bos : undefined
  const eos = addEos ? special.eos : undefined
  if (!bos && !eos) return { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false }
  const sp = (t: string) => ({ SpecialToken: { id: t, type_id: 0 } })
  const seq = (id: string, typeId: number) => ({ Sequence: { id, type_id: typeId } })
  const wrap = (a: object[]) => [...(bos ? [sp(bos)] : []), ...a, ...(eos ? [sp(eos)] : [])]
  const specials: Record<string, object> = {}
  for (const t of [bos, eos]) if (t) specials[t] = { id: t, ids: [tokens.indexOf(t)], tokens: [t] }
  return {
    type: 'TemplateProcessing',
    single: wrap([seq('A', 0)]),
    pair: [...wrap([seq('A', 0)]), ...wrap([seq('B', 1)])],
    special_tokens: specials,
  }
}

type Reader = ReturnType<typeof reader>

/** Typed access to metadata values, with FormatErrors naming the key. */
function reader(meta: Meta, file: string) {
  const bad = (key: string, want: string): never => {
    throw new FormatError(file, `metadata ${key} is ${meta.has(key) ? 'not ' + want : 'missing'}`)
  }
  const num = (v: GgufValue): number | undefined =>
    typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined
  return {
    string: (key: string): string => {
      const v = meta.get(key)
      return typeof v === 'string' ? v : bad(key, 'a string')
    },
    optionalString: (key: string): string | undefined => {
      const v = meta.get(key)
      return v === undefined ? undefined : typeof v === 'string' ? v : bad(key, 'a string')
    },
    optionalNumber: (key: string): number | undefined => {
      const v = meta.get(key)
      return v === undefined ? undefined : (num(v) ?? bad(key, 'a number'))
    },
    optionalBool: (key: string): boolean | undefined => {
      const v = meta.get(key)
      return v === undefined ? undefined : typeof v === 'boolean' ? v : bad(key, 'a boolean')
    },
    strings: (key: string): string[] => {
      const v = meta.get(key)
      if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
        return bad(key, 'a string list')
      return v as string[]
    },
    /** A number list of `length` entries; an absent optional list reads as all-normal (1). */
    numbers: (key: string, length: number, optional: boolean): number[] => {
      const v = meta.get(key)
      if (v === undefined && optional) return new Array<number>(length).fill(1)
      if (!Array.isArray(v)) return bad(key, 'a number list')
      const out = v.map(num)
      if (out.length !== length || out.some((x) => x === undefined || Number.isNaN(x)))
        return bad(key, `a list of ${length} numbers`)
      return out as number[]
    },
  }
}
