// Conversations and settings, kept in the browser (localStorage), never on the server.
import type { ChatMessage, ReplyStats, Settings } from './api.js'

export interface Turn extends ChatMessage {
  stats?: ReplyStats
  error?: string
}

export interface Conversation {
  id: string
  title: string
  model: string
  turns: Turn[]
}

const KEY = 'anemll.conversations'
const SETTINGS = 'anemll.settings'

export const DEFAULT_SETTINGS: Settings = { system: '', temperature: 0.7, maxTokens: 0, apiKey: '' }

function read<T>(key: string, fallback: T): T {
  try {
    const v = localStorage.getItem(key)
    return v ? (JSON.parse(v) as T) : fallback
  } catch {
    return fallback // a corrupt entry starts afresh rather than breaking the page
  }
}

export const loadConversations = (): Conversation[] => read(KEY, [])
export const saveConversations = (c: Conversation[]): void =>
  localStorage.setItem(KEY, JSON.stringify(c))
export const loadSettings = (): Settings => ({ ...DEFAULT_SETTINGS, ...read(SETTINGS, {}) })
export const saveSettings = (s: Settings): void => localStorage.setItem(SETTINGS, JSON.stringify(s))

export const newConversation = (model: string): Conversation => ({
  id: crypto.randomUUID(),
  title: 'New chat',
  model,
  turns: [],
})
