// Prompts → token ids. With a chat template the conversation is rendered and encoded without
// adding special tokens (the template writes BOS itself, as transformers' apply_chat_template
// does); raw text gets the tokenizer's own BOS handling. Models without a template (base models
// such as stories260K) are driven in plain-text mode: the messages' contents, one after the
// other, each user/system turn after the first on a new line.
import type { ChatMessage, ChatTemplate } from '../tokenizer/chat-template.js'
import type { Tokenizer } from '../tokenizer/tokenizer.js'
import { UsageError } from '../util/errors.js'

export interface PromptOptions {
  /** Qwen3-style switch passed to the template as enable_thinking. */
  enableThinking?: boolean
}

/** Ids of raw text with the tokenizer's BOS handling; empty text means BOS alone. */
export function rawIds(tok: Tokenizer, text: string): number[] {
  const ids = tok.encode(text, { addSpecialTokens: true })
  if (ids.length) return ids
  if (tok.bos) return [tok.bos.id]
  throw new UsageError('the prompt is empty and the tokenizer has no BOS token to start from')
}

/** The text of a conversation in plain-text mode (no template). */
export function plainText(messages: readonly ChatMessage[]): string {
  return messages
    .map((m, i) => (i > 0 && m.role !== 'assistant' ? `\n${m.content}` : m.content))
    .join('')
}

/** Ids of a conversation, ending with the assistant's generation prompt when templated. */
export function conversationIds(
  tok: Tokenizer,
  template: ChatTemplate | undefined,
  messages: readonly ChatMessage[],
  opts: PromptOptions = {},
): number[] {
  if (!template) return rawIds(tok, plainText(messages))
  const text = template.render([...messages], {
    addGenerationPrompt: true,
    enableThinking: opts.enableThinking,
  })
  const ids = tok.encode(text, { addSpecialTokens: false })
  if (!ids.length) throw new UsageError('the chat template rendered an empty prompt')
  return ids
}

/**
 * Drops the oldest non-system messages, a user/assistant pair at a time, while the conversation
 * is longer than `budget` tokens and more than one turn would remain (ANEMLL chat_full's rule).
 * Returns the kept messages and their ids; a single turn that is still too long is left to the
 * cache, which keeps its last tokens.
 */
export function fitConversation(
  messages: readonly ChatMessage[],
  budget: number,
  render: (m: readonly ChatMessage[]) => number[],
): { messages: ChatMessage[]; ids: number[]; droppedMessages: number } {
  let kept = [...messages]
  let ids = render(kept)
  let dropped = 0
  const firstTurn = () => kept.findIndex((m) => m.role !== 'system')
  while (ids.length > budget && kept.length - Math.max(0, firstTurn()) > 2) {
    const at = firstTurn()
    kept = [...kept.slice(0, at), ...kept.slice(at + 2)]
    dropped += 2
    ids = render(kept)
  }
  return { messages: kept, ids, droppedMessages: dropped }
}
