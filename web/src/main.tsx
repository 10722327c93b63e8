// The chat page: conversations (kept in the browser), a model picker, streamed replies rendered
// as sanitized Markdown, stop, regenerate, edit-and-resend, settings and per-reply statistics.
import { render } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { listModels, streamChat, type Settings } from './api.js'
import { renderMarkdown } from './markdown.js'
import {
  loadConversations,
  loadSettings,
  newConversation,
  saveConversations,
  saveSettings,
  type Conversation,
  type Turn,
} from './store.js'

function Message({ turn }: { turn: Turn }) {
  const s = turn.stats
  return (
    <div class={`msg ${turn.role}`} data-role={turn.role}>
      {turn.role === 'assistant' ? (
        <div class="content" dangerouslySetInnerHTML={{ __html: renderMarkdown(turn.content) }} />
      ) : (
        <div class="content">{turn.content}</div>
      )}
      {s && (
        <div class="stats">
          TTFT {s.ttftMs.toFixed(0)} ms · {s.tokensPerSecond.toFixed(1)} tok/s ·{' '}
          {s.completionTokens} tokens · {s.cachedTokens} cached
        </div>
      )}
      {turn.error && <div class="error">{turn.error}</div>}
    </div>
  )
}

/** The settings as form fields: [key, label, input attributes]. */
const FIELDS: Array<[keyof Settings, string, Record<string, string>]> = [
  ['system', 'System prompt', {}],
  ['temperature', 'Temperature', { type: 'number', min: '0', max: '2', step: '0.1' }],
  ['maxTokens', 'Max tokens (0: no limit)', { type: 'number', min: '0' }],
  ['apiKey', 'API key', { type: 'password' }],
]

function SettingsPanel({ value, onChange }: { value: Settings; onChange: (s: Settings) => void }) {
  return (
    <details>
      <summary>Settings</summary>
      {FIELDS.map(([key, label, attrs]) => (
        <label key={key}>
          {label}{' '}
          <input
            name={key}
            {...attrs}
            value={value[key]}
            onInput={(e) => {
              const v = (e.target as HTMLInputElement).value
              onChange({ ...value, [key]: attrs.type === 'number' ? Number(v) : v })
            }}
          />{' '}
        </label>
      ))}
    </details>
  )
}

function App() {
  const [settings, setSettings] = useState(loadSettings)
  const [models, setModels] = useState<string[]>([])
  const [error, setError] = useState('')
  const [convs, setConvs] = useState<Conversation[]>(loadConversations)
  const [currentId, setCurrentId] = useState<string | undefined>(convs[0]?.id)
  const [modelChoice, setModelChoice] = useState('')
  const [draft, setDraft] = useState('')
  const [busy, setBusy] = useState<AbortController | undefined>()
  const bottom = useRef<HTMLDivElement>(null)

  useEffect(() => {
    listModels(settings)
      .then((m) => (setModels(m), setError('')))
      .catch((e: Error) => setError(e.message))
  }, [settings.apiKey])
  useEffect(() => saveSettings(settings), [settings])
  useEffect(() => saveConversations(convs), [convs])
  useEffect(() => bottom.current?.scrollIntoView({ block: 'end' }))

  const current = convs.find((c) => c.id === currentId)
  const model = current?.model || modelChoice || models[0] || ''
  const update = (id: string, f: (c: Conversation) => Conversation) =>
    setConvs((all) => all.map((c) => (c.id === id ? f(c) : c)))

  async function run(conv: Conversation, turns: Turn[]) {
    const ac = new AbortController()
    setBusy(ac)
    const reply: Turn = { role: 'assistant', content: '' }
    const show = (t: Turn) => update(conv.id, (c) => ({ ...c, turns: [...turns, t] }))
    show(reply)
    try {
      const history = turns.map(({ role, content }) => ({ role, content }))
      const stats = await streamChat(
        conv.model,
        history,
        settings,
        (d) => show({ ...reply, content: (reply.content += d) }),
        ac.signal,
      )
      show({ ...reply, stats })
    } catch (e) {
      if (!ac.signal.aborted) show({ ...reply, error: (e as Error).message })
    } finally {
      setBusy(undefined)
    }
  }

  function send(e?: Event) {
    e?.preventDefault()
    const text = draft.trim()
    if (!text || busy || !model) return
    let conv = current
    if (!conv) {
      conv = newConversation(model)
      const c = conv
      setConvs((all) => [c, ...all])
      setCurrentId(c.id)
    }
    const turns: Turn[] = [...conv.turns, { role: 'user', content: text }]
    const title = conv.turns.length ? conv.title : text.slice(0, 40)
    conv = { ...conv, title, turns }
    const c = conv
    update(c.id, () => c)
    setDraft('')
    void run(c, turns)
  }

  function regenerate() {
    if (!current || busy) return
    const turns = current.turns.slice(0, current.turns.findLastIndex((t) => t.role === 'user') + 1)
    if (turns.length) void run(current, turns)
  }

  function edit() {
    if (!current || busy) return
    const at = current.turns.findLastIndex((t) => t.role === 'user')
    if (at < 0) return
    setDraft(current.turns[at].content)
    update(current.id, (c) => ({ ...c, turns: c.turns.slice(0, at) }))
  }

  return (
    <div class="layout">
      <aside>
        <button onClick={() => setCurrentId(undefined)} disabled={!!busy}>
          New chat
        </button>
        <ul aria-label="Conversations">
          {convs.map((c) => (
            <li key={c.id} class={c.id === currentId ? 'current' : ''}>
              <button onClick={() => !busy && setCurrentId(c.id)}>{c.title}</button>
            </li>
          ))}
        </ul>
      </aside>
      <main>
        <header>
          <label>
            Model{' '}
            <select
              name="model"
              value={model}
              disabled={!!busy}
              onChange={(e) => {
                const m = (e.target as HTMLSelectElement).value
                // an empty chat changes model; a started one stays with its model
                if (current && current.turns.length === 0)
                  update(current.id, (c) => ({ ...c, model: m }))
                else setCurrentId(undefined)
                setModelChoice(m)
              }}
            >
              {models.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>
          <SettingsPanel value={settings} onChange={setSettings} />
          <button onClick={regenerate} disabled={!!busy || !current?.turns.length}>
            Regenerate
          </button>
          <button onClick={edit} disabled={!!busy || !current?.turns.length}>
            Edit last
          </button>
          {error && <span class="error">{error}</span>}
        </header>
        <div class="messages" aria-live="polite">
          {current?.turns.map((t, i) => (
            <Message key={i} turn={t} />
          ))}
          <div ref={bottom} />
        </div>
        <form class="composer" onSubmit={send}>
          <textarea
            aria-label="Message"
            rows={2}
            value={draft}
            placeholder="Message (Enter sends, Shift+Enter for a new line)"
            onInput={(e) => setDraft((e.target as HTMLTextAreaElement).value)}
            onKeyDown={(e) => e.key === 'Enter' && !e.shiftKey && send(e)}
          />
          {busy ? (
            <button type="button" onClick={() => busy.abort()}>
              Stop
            </button>
          ) : (
            <button type="submit" disabled={!model}>
              Send
            </button>
          )}
        </form>
      </main>
    </div>
  )
}

render(<App />, document.getElementById('app')!)
