// Pure translation between OpenAI's request/response shapes and the engine's: a request becomes
// a Job (what to generate and how), engine results become completions, chunks and usage.
import type { ChatMessage } from '../tokenizer/chat-template.js'
import type { GenerateOptions, GenerationStats, StopReason } from '../generate/types.js'
import type { ChatRequest, CompletionRequest } from './schema.js'

/** What to generate: a conversation (templated) or a raw prompt (text or ids). */
export type JobInput =
  | { kind: 'chat'; messages: ChatMessage[] }
  | { kind: 'text'; prompt: string }
  | { kind: 'tokens'; tokens: number[] }

export interface Job {
  endpoint: 'chat' | 'completion'
  model: string
  input: JobInput
  /** Sampling and stopping; temperature unset means OpenAI's default (1, or greedy if the model can only do that). */
  opts: GenerateOptions
  /** The field that set the token limit (for error messages). */
  maxTokensParam: string
  stream: boolean
  includeUsage: boolean
}

const stops = (s: string | string[] | null | undefined): string[] | undefined =>
  s == null ? undefined : typeof s === 'string' ? [s] : s

function options(r: ChatRequest | CompletionRequest, maxTokens?: number | null): GenerateOptions {
  const o: GenerateOptions = { shift: false }
  if (r.temperature != null) o.temperature = r.temperature
  if (r.top_p != null) o.topP = r.top_p
  if (r.top_k != null) o.topK = r.top_k
  if (r.min_p != null) o.minP = r.min_p
  if (r.repetition_penalty != null) o.repetitionPenalty = r.repetition_penalty
  if (r.seed != null) o.seed = r.seed
  if (maxTokens != null) o.maxTokens = maxTokens
  const stop = stops(r.stop)
  if (stop) o.stop = stop
  return o
}

/** Message contents: a string, or text parts joined by newlines. */
function chatMessages(r: ChatRequest): ChatMessage[] {
  return r.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content:
      m.content == null
        ? ''
        : typeof m.content === 'string'
          ? m.content
          : m.content.map((p) => p.text).join('\n'),
  }))
}

export function chatJob(r: ChatRequest): Job {
  const max = r.max_completion_tokens ?? r.max_tokens
  return {
    endpoint: 'chat',
    model: r.model,
    input: { kind: 'chat', messages: chatMessages(r) },
    opts: options(r, max),
    maxTokensParam: r.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens',
    stream: r.stream ?? false,
    includeUsage: r.stream_options?.include_usage ?? false,
  }
}

export function completionJob(r: CompletionRequest): Job {
  const p = r.prompt
  const input: JobInput =
    typeof p === 'string'
      ? { kind: 'text', prompt: p }
      : typeof p[0] === 'string'
        ? { kind: 'text', prompt: p[0] }
        : { kind: 'tokens', tokens: p as number[] }
  return {
    endpoint: 'completion',
    model: r.model,
    input,
    opts: options(r, r.max_tokens),
    maxTokensParam: 'max_tokens',
    stream: r.stream ?? false,
    includeUsage: r.stream_options?.include_usage ?? false,
  }
}

export type FinishReason = 'stop' | 'length'

/** eos, end-of-turn ids and stop strings are 'stop'; the token limit and a full window 'length'. */
export const finishReason = (r: StopReason): FinishReason =>
  r === 'eos' || r === 'stop_string' ? 'stop' : 'length'

export interface Usage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  prompt_tokens_details: { cached_tokens: number }
}

export function usage(s: GenerationStats): Usage {
  return {
    prompt_tokens: s.promptTokens,
    completion_tokens: s.generatedTokens,
    total_tokens: s.promptTokens + s.generatedTokens,
    prompt_tokens_details: { cached_tokens: s.reusedTokens },
  }
}

/** The fields every response and chunk of one request share. */
export interface Head {
  id: string
  created: number
  model: string
}

export function completionBody(job: Job, head: Head, text: string, s: GenerationStats): object {
  const finish_reason = finishReason(s.stopReason)
  const choice =
    job.endpoint === 'chat'
      ? { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason }
      : { index: 0, text, logprobs: null, finish_reason }
  const object = job.endpoint === 'chat' ? 'chat.completion' : 'text_completion'
  return { ...head, object, choices: [choice], usage: usage(s) }
}

/**
 * One streamed chunk: a delta (chat: `{role}` first, then `{content}`; completions: text), or the
 * final one with finish_reason. With include_usage, every chunk carries `usage: null` and a last
 * one with no choices carries the usage.
 */
export function chunkBody(
  job: Job,
  head: Head,
  delta: { role?: 'assistant'; content?: string },
  finish: FinishReason | null = null,
): object {
  const choice =
    job.endpoint === 'chat'
      ? { index: 0, delta, logprobs: null, finish_reason: finish }
      : { index: 0, text: delta.content ?? '', logprobs: null, finish_reason: finish }
  const object = job.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion'
  return { ...head, object, choices: [choice], ...(job.includeUsage ? { usage: null } : {}) }
}

export function usageChunkBody(job: Job, head: Head, s: GenerationStats): object {
  const object = job.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion'
  return { ...head, object, choices: [], usage: usage(s) }
}
