// Which generated ids end an answer.
import type { Tokenizer } from './tokenizer.js'

/** The slice of generation_config.json that names stop ids (HF spelling). */
export interface GenerationEos {
  eos_token_id?: number | number[] | null
}

// End-of-turn / end-of-text markers of the chat formats we know; used when present as added tokens,
// since older generation configs list only the base model's eos.
const END_OF_TURN = [
  '<|eot_id|>', // Llama 3
  '<|eom_id|>', // Llama 3.1 tool calls
  '<|end_of_text|>', // Llama 3 base
  '<|im_end|>', // ChatML: Qwen, SmolLM
  '<|endoftext|>', // Qwen, GPT-2 family
  '<end_of_turn>', // Gemma
  '<|end|>', // Phi-3
  '</s>', // Llama 2, Mistral
  '<｜end▁of▁sentence｜>', // DeepSeek
]

/**
 * Sorted stop ids: generation_config's eos list, the tokenizer's eos and bos, and the end-of-turn
 * tokens the vocabulary has as added tokens.
 * @example stopTokenIds(tok, { eos_token_id: [128001, 128008, 128009] })
 */
export function stopTokenIds(tok: Tokenizer, generation: GenerationEos = {}): number[] {
  const ids = new Set<number>()
  const eos = generation.eos_token_id
  for (const id of Array.isArray(eos) ? eos : eos == null ? [] : [eos])
    if (Number.isInteger(id) && id >= 0) ids.add(id)
  if (tok.eos) ids.add(tok.eos.id)
  // A generated BOS starts another document: llama2.c's stories end with it.
  if (tok.bos) ids.add(tok.bos.id)
  const added = new Map(tok.addedTokens.map((t) => [t.content, t.id]))
  for (const text of END_OF_TURN) {
    const id = added.get(text)
    if (id !== undefined) ids.add(id)
  }
  return [...ids].sort((a, b) => a - b)
}
