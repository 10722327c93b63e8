// Chat templates: the model's Jinja template rendered with @huggingface/jinja, with the variables that
// transformers' apply_chat_template passes (messages, add_generation_prompt, the special tokens, ...).
import { Template } from '@huggingface/jinja'
import { FormatError, UsageError } from '../util/errors.js'
import { tokenContent, type Tokenizer, type TokenizerConfig } from './tokenizer.js'

/** One chat message; extra keys (reasoning_content, tool_calls...) are passed to the template. */
export interface ChatMessage {
  role: string
  content: string
  [key: string]: unknown
}

export interface RenderOptions {
  /** End with the assistant header so the model answers (default true). */
  addGenerationPrompt?: boolean
  /** Qwen3's switch: false asks for an empty <think></think>; unset leaves the template's default. */
  enableThinking?: boolean
  /** Tool schemas, for templates that support them. */
  tools?: unknown[]
  /** Any other template variable. */
  variables?: Record<string, unknown>
}

// transformers passes these special tokens of the tokenizer to every template.
const SPECIAL_KEYS = [
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
] as const

/**
 * A compiled chat template. Compile once (constructor), render many times.
 * @example
 * const chat = ChatTemplate.fromTokenizer(tok)
 * chat?.render([{ role: 'user', content: 'Hi' }], { enableThinking: false })
 */
export class ChatTemplate {
  readonly source: string
  #template: Template
  #special: Record<string, unknown>

  /**
   * @param source the Jinja text.
   * @param specialTokens template variables for the special tokens (`bos_token`...).
   * @param file names the template's origin in error messages.
   */
  constructor(source: string, specialTokens: Record<string, unknown> = {}, file = 'chat template') {
    this.source = source
    this.#special = specialTokens
    try {
      this.#template = new Template(source)
    } catch (err) {
      throw new FormatError(file, `chat template does not parse: ${(err as Error).message}`)
    }
  }

  /**
   * The tokenizer's template (tokenizer_config.json `chat_template`, a chat_template.jinja file, or
   * GGUF `tokenizer.chat_template`), compiled once per tokenizer; undefined when the model has none.
   * @param name picks one of a named template list (default: "default").
   */
  static fromTokenizer(tok: Tokenizer, name?: string): ChatTemplate | undefined {
    const key = name ?? ''
    let byName = cache.get(tok)
    if (!byName) cache.set(tok, (byName = new Map()))
    if (!byName.has(key)) {
      const source = pickTemplate(tok.config.chat_template, name)
      byName.set(
        key,
        source === undefined ? undefined : new ChatTemplate(source, specialVars(tok.config)),
      )
    }
    return byName.get(key)
  }

  /** The prompt text for `messages`. Errors raised by the template become UsageErrors. */
  render(messages: ChatMessage[], opts: RenderOptions = {}): string {
    // transformers always passes tools and documents, as None when absent: `tools is none` holds.
    const vars: Record<string, unknown> = {
      ...this.#special,
      tools: opts.tools ?? null,
      documents: null,
      ...opts.variables,
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? true,
    }
    if (opts.enableThinking !== undefined) vars.enable_thinking = opts.enableThinking
    try {
      return this.#template.render(vars)
    } catch (err) {
      throw new UsageError(`chat template: ${(err as Error).message}`)
    }
  }
}

const cache = new WeakMap<Tokenizer, Map<string, ChatTemplate | undefined>>()

/** Template variables for the special tokens, as transformers' special_tokens_map gives them. */
export function specialVars(config: TokenizerConfig): Record<string, unknown> {
  const vars: Record<string, unknown> = {}
  for (const key of SPECIAL_KEYS) {
    const text = tokenContent(config[key] as TokenizerConfig['bos_token'])
    if (text !== undefined) vars[key] = text
  }
  const extra = config.additional_special_tokens
  if (Array.isArray(extra) && extra.length > 0)
    vars.additional_special_tokens = extra.map(tokenContent)
  return vars
}

function pickTemplate(value: TokenizerConfig['chat_template'], name?: string): string | undefined {
  if (value == null) return undefined
  if (typeof value === 'string') {
    if (name && name !== 'default') throw new UsageError(`no chat template named '${name}'`)
    return value
  }
  const wanted = name ?? 'default'
  const hit = value.find((t) => t.name === wanted)
  if (!hit) {
    const names = value.map((t) => t.name).join(', ')
    throw new UsageError(`no chat template named '${wanted}' (the model has: ${names})`)
  }
  return hit.template
}
