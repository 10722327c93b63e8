// A model's tokenizer: tokenizer.json (+ tokenizer_config.json) run by @huggingface/tokenizers, with the
// few fixes needed to match the reference Rust `tokenizers` package id for id and string for string.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as hfLib from '@huggingface/tokenizers'
import { FormatError } from '../util/errors.js'

// The package's .d.ts files do not resolve under NodeNext (extensionless re-exports), so the few
// members we use are typed here.
interface HfDecoder {
  decoders?: HfDecoder[]
  text_decoder?: { decode(bytes: Uint8Array): string }
}
interface HfTokenizer {
  encode(text: string, o: { add_special_tokens: boolean }): { ids: number[]; tokens: string[] }
  decode(
    ids: number[],
    o: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean },
  ): string
  id_to_token(id: number): string | undefined
  token_to_id(token: string): number | undefined
  decoder: HfDecoder | null
  model: { vocab: string[] } | null
}
type Ctor<T> = abstract new (...args: never[]) => T
const hf = hfLib as unknown as {
  Tokenizer: new (json: object, config: object) => HfTokenizer
  ByteFallbackDecoder: Ctor<HfDecoder>
  SequenceDecoder: Ctor<HfDecoder>
}

/** A special-token entry of tokenizer_config.json: a plain string or an AddedToken-like object. */
export type TokenSpec = string | { content: string } | null | undefined

/** The keys of tokenizer_config.json we read (HF spellings); other keys are kept but ignored. */
export interface TokenizerConfig {
  bos_token?: TokenSpec
  eos_token?: TokenSpec
  pad_token?: TokenSpec
  unk_token?: TokenSpec
  add_bos_token?: boolean
  add_eos_token?: boolean
  additional_special_tokens?: TokenSpec[]
  chat_template?: string | { name: string; template: string }[]
  [key: string]: unknown
}

/** A special token resolved against the vocabulary. */
export interface SpecialToken {
  id: number
  content: string
}

/** An entry of tokenizer.json `added_tokens`. */
export interface AddedTokenInfo {
  id: number
  content: string
  special: boolean
}

export interface EncodeOptions {
  /** Add BOS/EOS as the model's tokenizer does (post-processor, or add_bos_token/add_eos_token). */
  addSpecialTokens?: boolean
}

export interface DecodeOptions {
  /** Drop special added tokens (`<|im_end|>`, `<s>`...) from the text. */
  skipSpecialTokens?: boolean
}

/** The text of a TokenSpec, or undefined when unset. */
export function tokenContent(spec: TokenSpec): string | undefined {
  if (spec == null) return undefined
  return typeof spec === 'string' ? spec : spec.content
}

/**
 * A Hugging Face tokenizer. Encoding and decoding match the Rust `tokenizers` package (checked by the
 * goldens in test/fixtures/tokenizer/); decoding never applies `clean_up_tokenization_spaces`, so that
 * decode(encode(text)) gives the text back, as the Rust package does.
 * @example
 * const tok = await Tokenizer.load('/models/Qwen3-0.6B')
 * tok.encode('Hello world') // [9707, 1879]
 */
export class Tokenizer {
  readonly config: TokenizerConfig
  readonly bos?: SpecialToken
  readonly eos?: SpecialToken
  readonly pad?: SpecialToken
  readonly unk?: SpecialToken
  readonly addedTokens: AddedTokenInfo[]
  /** Number of ids, added tokens included (max id + 1). */
  readonly vocabSize: number
  #hf: HfTokenizer
  #special: Set<number>
  #ownSpecials: boolean

  private constructor(lib: HfTokenizer, json: TokenizerJson, config: TokenizerConfig) {
    this.#hf = lib
    this.config = config
    this.addedTokens = (json.added_tokens ?? []).map((t) => ({
      id: t.id,
      content: t.content,
      special: t.special ?? false,
    }))
    this.#special = new Set(this.addedTokens.filter((t) => t.special).map((t) => t.id))
    const resolve = (spec: TokenSpec): SpecialToken | undefined => {
      const content = tokenContent(spec)
      const id = content === undefined ? undefined : lib.token_to_id(content)
      return id === undefined || content === undefined ? undefined : { id, content }
    }
    this.bos = resolve(config.bos_token)
    this.eos = resolve(config.eos_token)
    this.pad = resolve(config.pad_token)
    this.unk = resolve(config.unk_token)
    // Explicit add_bos_token/add_eos_token win over the post-processor, as transformers and llama.cpp do.
    this.#ownSpecials =
      typeof config.add_bos_token === 'boolean' || typeof config.add_eos_token === 'boolean'
    this.vocabSize = lib.model?.vocab.length ?? 0
  }

  /**
   * Builds a tokenizer from parsed tokenizer.json and tokenizer_config.json objects.
   * @param source names the files in error messages.
   */
  static fromJSON(
    tokenizerJson: unknown,
    tokenizerConfig: TokenizerConfig = {},
    source = 'tokenizer.json',
  ): Tokenizer {
    const json = checkTokenizerJson(tokenizerJson, source)
    let lib: HfTokenizer
    try {
      lib = new hf.Tokenizer(json, tokenizerConfig)
    } catch (err) {
      throw new FormatError(source, `unsupported tokenizer: ${(err as Error).message}`)
    }
    if (lib.decoder) fixByteFallback(lib.decoder)
    return new Tokenizer(lib, json, tokenizerConfig)
  }

  /**
   * Loads tokenizer.json, tokenizer_config.json, special_tokens_map.json and chat_template.{jinja,json}
   * from a model folder. Only tokenizer.json is required; without it, a sentencepiece
   * tokenizer.model is converted as transformers would.
   */
  static async load(dir: string): Promise<Tokenizer> {
    let file = join(dir, 'tokenizer.json')
    let json = await readJson(file, false)
    const config = ((await readJson(join(dir, 'tokenizer_config.json'), false)) ??
      {}) as TokenizerConfig
    if (json === null) {
      // Older sentencepiece checkpoints ship only tokenizer.model.
      file = join(dir, 'tokenizer.model')
      if (!existsSync(file))
        throw new FormatError(
          dir,
          'no tokenizer.json (or sentencepiece tokenizer.model) in the folder',
        )
      const { tokenizerFilesFromSpm } = await import('./from-spm.js')
      const spm = await tokenizerFilesFromSpm(file)
      json = spm.tokenizerJson
      for (const [key, value] of Object.entries(spm.tokenizerConfig)) config[key] ??= value
    }
    const map = (await readJson(join(dir, 'special_tokens_map.json'), false)) as Record<
      string,
      unknown
    > | null
    for (const [key, value] of Object.entries(map ?? {})) config[key] ??= value
    // Newer transformers save the template beside the config; those files win, as there.
    const tmpl = (await readJson(join(dir, 'chat_template.json'), false)) as {
      chat_template?: TokenizerConfig['chat_template']
    } | null
    if (tmpl?.chat_template) config.chat_template = tmpl.chat_template
    const jinja = await readFile(join(dir, 'chat_template.jinja'), 'utf8').catch(() => undefined)
    if (jinja !== undefined) config.chat_template = jinja
    return Tokenizer.fromJSON(json, config, file)
  }

  /** Token ids of `text`. Special-token text (`<|im_start|>`) inside `text` maps to its id. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    return this.encodeWithPieces(text, opts).ids
  }

  /** Token ids of `text` with the token string of each id. */
  encodeWithPieces(text: string, opts: EncodeOptions = {}): { ids: number[]; pieces: string[] } {
    const add = opts.addSpecialTokens ?? true
    if (!this.#ownSpecials || !add) {
      const e = this.#hf.encode(text, { add_special_tokens: add })
      return { ids: e.ids, pieces: e.tokens }
    }
    const e = this.#hf.encode(text, { add_special_tokens: false })
    const bos = this.config.add_bos_token && this.bos ? [this.bos] : []
    const eos = this.config.add_eos_token && this.eos ? [this.eos] : []
    return {
      ids: [...bos.map((t) => t.id), ...e.ids, ...eos.map((t) => t.id)],
      pieces: [...bos.map((t) => t.content), ...e.tokens, ...eos.map((t) => t.content)],
    }
  }

  /** Text of `ids`. Ids outside the vocabulary are skipped, as the Rust package does. */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecialTokens ?? false
    const kept = ids.filter(
      (id) => this.#hf.id_to_token(id) !== undefined && !(skip && this.#special.has(id)),
    )
    if (kept.length === 0) return ''
    return this.#hf.decode(kept, {
      skip_special_tokens: false,
      clean_up_tokenization_spaces: false,
    })
  }

  /** The vocabulary string of `id` (`Ġworld`, `<0xE4>`, `<|im_end|>`), or undefined. */
  idToToken(id: number): string | undefined {
    return this.#hf.id_to_token(id)
  }

  /** The id of a vocabulary string, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.#hf.token_to_id(token)
  }

  /** True for added tokens marked special (they are dropped by `skipSpecialTokens`). */
  isSpecial(id: number): boolean {
    return this.#special.has(id)
  }
}

interface TokenizerJson {
  model: { type?: string }
  added_tokens?: { id: number; content: string; special?: boolean }[]
  [key: string]: unknown
}

function checkTokenizerJson(value: unknown, source: string): TokenizerJson {
  const v = value as TokenizerJson | null
  if (typeof v !== 'object' || v === null || typeof v.model !== 'object' || v.model === null)
    throw new FormatError(source, 'not a tokenizer.json (no "model" object)')
  if (v.added_tokens !== undefined && !Array.isArray(v.added_tokens))
    throw new FormatError(source, '"added_tokens" is not a list')
  for (const t of v.added_tokens ?? [])
    if (!Number.isInteger(t?.id) || t.id < 0 || typeof t.content !== 'string')
      throw new FormatError(source, `bad added token ${JSON.stringify(t)}`)
  for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const)
    checkPatterns(v[key], source, key)
  // The library requires these keys to exist, even when null.
  return { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...v }
}

/** Split/Replace patterns are {Regex} or {String}: the library only warns and drops others. */
function checkPatterns(v: unknown, source: string, where: string): void {
  if (typeof v !== 'object' || v === null) return
  const o = v as { type?: unknown; pattern?: unknown }
  if ('pattern' in o || o.type === 'Split' || o.type === 'Replace') {
    const p = o.pattern as { Regex?: unknown; String?: unknown } | null | undefined
    if (typeof p?.Regex !== 'string' && typeof p?.String !== 'string')
      throw new FormatError(
        source,
        `${where}: ${String(o.type ?? '')} pattern ${JSON.stringify(p) ?? 'missing'} is not {Regex} or {String}`,
      )
  }
  for (const x of Object.values(v)) checkPatterns(x, source, where)
}

async function readJson(file: string, required: boolean): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new FormatError(file, `cannot read: ${(err as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new FormatError(file, `invalid JSON: ${(err as Error).message}`)
  }
}

/**
 * The library's ByteFallback decoder uses a TextDecoder that drops a leading BOM (U+FEFF) and replaces a
 * bad byte run with a single U+FFFD; the Rust decoder keeps the BOM and gives one U+FFFD per byte.
 */
function fixByteFallback(decoder: HfDecoder): void {
  if (decoder instanceof hf.SequenceDecoder) decoder.decoders?.forEach(fixByteFallback)
  if (decoder instanceof hf.ByteFallbackDecoder) {
    const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
    const rustLike = {
      decode(bytes: Uint8Array): string {
        try {
          return strict.decode(bytes)
        } catch {
          return '\ufffd'.repeat(bytes.length)
        }
      },
    }
    decoder.text_decoder = rustLike
  }
}
