// The shapes the engine hands out: generation options, streamed events, results and statistics.
import type { SamplingOptions } from './sample.js'

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most (default: the context length). */
  maxTokens?: number
  /** Stop when the text contains one of these; the stop string itself is not returned. */
  stop?: string[]
  /** Extra ids that end generation, besides the model's eos / end-of-turn ids. */
  stopTokens?: number[]
  /** Aborting ends generation after the current model call (stop reason `aborted`). */
  signal?: AbortSignal
  /** System message for a string prompt (templated models). */
  system?: string
  /** false: feed a string prompt as raw text with the tokenizer's BOS handling, no template. */
  template?: boolean
  /** Passed to the chat template as enable_thinking (false: Qwen3's --no-think). */
  enableThinking?: boolean
  /** Shift the window when the context fills (default true); false stops with `context_full`. */
  shift?: boolean
  /** Attach the logits each token was chosen from to its event (logits models only). */
  returnLogits?: boolean
}

/** Why generation ended. */
export type StopReason = 'eos' | 'stop_string' | 'max_tokens' | 'context_full' | 'aborted'

export interface GenerationStats {
  /** Ids of the prompt (the whole conversation for a session), after any truncation. */
  promptTokens: number
  /** Prompt ids found in the KV cache already (earlier turns of a session). */
  reusedTokens: number
  /** Prompt ids fed to the model. */
  prefillTokens: number
  generatedTokens: number
  /** From the call to the first token chosen (templating, tokenizing and prefill included). */
  ttftMs: number
  prefillMs: number
  prefillTokensPerSecond: number
  /** From the first token to the end. */
  decodeMs: number
  /** Decode steps (one `infer` + head each, window shifts included) per second. */
  decodeTokensPerSecond: number
  totalMs: number
  windowShifts: number
  /** Prompt ids (or whole messages' worth) dropped to fit the window. */
  truncatedTokens: number
  droppedMessages: number
  stopReason: StopReason
  /** The eos / end-of-turn id that ended generation. */
  stopToken?: number
  /** The PRNG seed used (absent for greedy decoding). */
  seed?: number
}

export interface GenerationResult {
  /** The generated text, up to any stop string. */
  text: string
  /** Generated ids, without the stop token. */
  tokens: number[]
  /** The ids the model was prompted with. */
  prompt: number[]
  stats: GenerationStats
}

/** A generated token and the text it completes ('' while a character or stop string is pending). */
export interface TokenEvent {
  type: 'token'
  id: number
  text: string
  logits?: Float32Array
}

/** Text released at the end (held back for a possible stop string or an unfinished character). */
export interface TextEvent {
  type: 'text'
  text: string
}

/** The window was full: `dropped` ids left it and the last `kept` were fed again. */
export interface ShiftEvent {
  type: 'shift'
  dropped: number
  kept: number
}

export interface DoneEvent {
  type: 'done'
  result: GenerationResult
}

export type GenerationEvent = TokenEvent | TextEvent | ShiftEvent | DoneEvent
