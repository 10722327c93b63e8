// Request bodies of the OpenAI API, as schemas (one place): types, ranges and the fields we do not
// honour. Unknown fields are ignored (clients send `user`, `metadata`, `store`...); known fields
// that would change the answer if ignored (n > 1, tools, logprobs...) are refused with a 400.
import { z } from 'zod'
import { badRequest, unsupported } from './errors.js'

const textPart = z.object({ type: z.literal('text'), text: z.string() })

const message = z.object({
  // 'developer' is OpenAI's newer name for 'system'
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(textPart)]).nullish(),
})

const stop = z.union([z.string(), z.array(z.string()).max(4)]).nullish()

/** Sampling and stopping: the fields both endpoints share. */
const sampling = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  stop,
  seed: z.number().int().nullish(),
  // extensions (llama.cpp and vLLM spell them the same way)
  top_k: z.number().int().min(0).nullish(),
  min_p: z.number().min(0).lt(1).nullish(),
  repetition_penalty: z.number().gt(0).nullish(),
  // accepted only at values that leave the answer as we compute it
  n: z.number().int().nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
  logprobs: z.union([z.boolean(), z.number()]).nullish(),
  top_logprobs: z.number().nullish(),
}

export const chatRequest = z.object({
  ...sampling,
  messages: z.array(message).min(1),
  max_completion_tokens: z.number().int().min(1).nullish(),
  tools: z.array(z.unknown()).nullish(),
  tool_choice: z.unknown().optional(),
  functions: z.array(z.unknown()).nullish(),
  response_format: z.object({ type: z.string() }).nullish(),
})

export const completionRequest = z.object({
  ...sampling,
  prompt: z.union([
    z.string(),
    z.array(z.string()).length(1),
    z.array(z.number().int().min(0)).min(1),
  ]),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  best_of: z.number().int().nullish(),
})

export type ChatRequest = z.infer<typeof chatRequest>
export type CompletionRequest = z.infer<typeof completionRequest>

/** Fields we accept only at their neutral values: [field, is it neutral, why not]. */
const NEUTRAL: Array<[string, (v: unknown) => boolean, string]> = [
  ['n', (v) => v == null || v === 1, 'must be 1: one choice per request'],
  ['best_of', (v) => v == null || v === 1, 'must be 1'],
  ['presence_penalty', (v) => v == null || v === 0, 'is not supported (use repetition_penalty)'],
  ['frequency_penalty', (v) => v == null || v === 0, 'is not supported (use repetition_penalty)'],
  ['logit_bias', (v) => v == null || Object.keys(v as object).length === 0, 'is not supported'],
  ['logprobs', (v) => v == null || v === false, 'is not supported'],
  ['top_logprobs', (v) => v == null, 'is not supported'],
  ['tools', (v) => v == null || (v as unknown[]).length === 0, 'are not supported'],
  ['tool_choice', (v) => v == null || v === 'none', 'is not supported'],
  ['functions', (v) => v == null || (v as unknown[]).length === 0, 'are not supported'],
  ['response_format', (v) => v == null || (v as { type: string }).type === 'text', 'must be text'],
  ['echo', (v) => v == null || v === false, 'is not supported'],
  ['suffix', (v) => v == null || v === '', 'is not supported'],
]

/** Parses a JSON body against `schema`; the first problem becomes a 400 naming the field. */
export function parseBody<T extends z.ZodType>(schema: T, raw: string): z.infer<T> {
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch (err) {
    throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw badRequest('the request body must be a JSON object')
  const r = schema.safeParse(json)
  if (!r.success) {
    const issue = r.error.issues[0]
    const param = issue.path.join('.') || null
    throw badRequest(`${param ?? 'body'}: ${issue.message}`, param)
  }
  const body = r.data as Record<string, unknown>
  for (const [field, neutral, why] of NEUTRAL)
    if (field in body && !neutral(body[field])) throw unsupported(field, why)
  return r.data
}
