// The page talks to the same OpenAI API as any client: /v1/models and streamed
// /v1/chat/completions (server-sent events read from fetch's body).

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

export interface Settings {
  system: string
  temperature: number
  maxTokens: number
  apiKey: string
}

export interface ReplyStats {
  ttftMs: number
  tokensPerSecond: number
  completionTokens: number
  cachedTokens: number
}

const headers = (s: Settings): Record<string, string> => ({
  'content-type': 'application/json',
  ...(s.apiKey ? { authorization: `Bearer ${s.apiKey}` } : {}),
})

async function failure(r: Response): Promise<Error> {
  const body = (await r.json().catch(() => null)) as { error?: { message?: string } } | null
  return new Error(body?.error?.message ?? `${r.status} ${r.statusText}`)
}

export async function listModels(s: Settings): Promise<string[]> {
  const r = await fetch('/v1/models', { headers: headers(s) })
  if (!r.ok) throw await failure(r)
  return ((await r.json()) as { data: { id: string }[] }).data.map((m) => m.id)
}

/** Streams a reply: `onText` gets each delta; resolves with the statistics at the end. */
export async function streamChat(
  model: string,
  messages: ChatMessage[],
  s: Settings,
  onText: (delta: string) => void,
  signal: AbortSignal,
): Promise<ReplyStats> {
  const t0 = performance.now()
  const all = s.system ? [{ role: 'system', content: s.system }, ...messages] : messages
  const r = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: headers(s),
    signal,
    body: JSON.stringify({
      model,
      messages: all,
      stream: true,
      stream_options: { include_usage: true },
      temperature: s.temperature,
      ...(s.maxTokens > 0 ? { max_tokens: s.maxTokens } : {}),
    }),
  })
  if (!r.ok || !r.body) throw await failure(r)
  let first = 0
  let usage = { completion_tokens: 0, prompt_tokens_details: { cached_tokens: 0 } }
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    buf += value
    let end: number
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, end)
      buf = buf.slice(end + 2)
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue
        const chunk = JSON.parse(line.slice(6))
        if (chunk.error) throw new Error(chunk.error.message)
        if (chunk.usage) usage = chunk.usage
        const delta = chunk.choices?.[0]?.delta?.content
        if (delta) {
          first ||= performance.now()
          onText(delta)
        }
      }
    }
  }
  const end = performance.now()
  const n = usage.completion_tokens
  return {
    ttftMs: (first || end) - t0,
    tokensPerSecond: n > 1 && first ? ((n - 1) * 1000) / (end - first) : 0,
    completionTokens: n,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
  }
}
