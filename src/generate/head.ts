// The LM head's outputs → one result: split logits concatenated in numeric order (contract §5.6),
// or in-model argmax combined on the host (0.3.5 §3).
import type { Tensor } from '../runtime/index.js'
import { FormatError } from '../util/errors.js'

/** What one decode step yields: the full logits, or (argmax models) the chosen token. */
export type HeadOutput =
  { kind: 'logits'; logits: Float32Array } | { kind: 'argmax'; token: number; value: number }

/** Output names of a logits head, in vocabulary order: logits1..K, else the single-output forms. */
export function logitNames(outputs: readonly string[], file: string): string[] {
  const split = outputs
    .map((o) => /^logits(\d+)$/.exec(o))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => m[0])
  if (split.length) return split
  for (const single of ['output_logits', 'logits']) if (outputs.includes(single)) return [single]
  throw new FormatError(file, `LM head has no logits outputs (outputs: ${outputs.join(', ')})`)
}

/** Concatenates the split logits along the vocabulary. */
export function concatLogits(out: Record<string, Tensor>, names: readonly string[]): Float32Array {
  let n = 0
  for (const k of names) n += out[k].data.length
  const logits = new Float32Array(n)
  let at = 0
  for (const k of names) {
    logits.set(out[k].data as Float32Array, at)
    at += out[k].data.length
  }
  return logits
}

/**
 * The chunk sizes that turn chunk-local argmax indices into token ids, resolved as 0.3.5's
 * runtimes do: meta.yaml `lm_head_chunk_sizes` (when it has K entries), the model's
 * `com.anemll.lm_head_chunk_sizes` metadata, else the vocabulary split as base + 1 for the first
 * V mod K chunks.
 */
export function argmaxChunkSizes(
  k: number,
  sources: { metaSizes?: number[]; metadata?: Record<string, string>; vocabSize?: number },
  file: string,
): number[] {
  if (sources.metaSizes?.length === k) return sources.metaSizes
  const fromModel = sources.metadata?.['com.anemll.lm_head_chunk_sizes']
    ?.split(',')
    .map((s) => Number(s.trim()))
  if (fromModel?.length === k && fromModel.every((x) => Number.isInteger(x) && x > 0))
    return fromModel
  const vocab = sources.vocabSize ?? Number(sources.metadata?.['com.anemll.vocab_size'] ?? NaN)
  if (Number.isInteger(vocab) && vocab >= k) {
    const base = Math.floor(vocab / k)
    return Array.from({ length: k }, (_, i) => base + (i < vocab % k ? 1 : 0))
  }
  throw new FormatError(
    file,
    'argmax LM head: chunk sizes unknown (meta.yaml has no lm_head_chunk_sizes or vocab_size)',
  )
}

/** Best chunk by value (strictly greater: the lowest chunk wins a tie), plus its offset. */
export function combineArgmax(
  idx: ArrayLike<number>,
  val: ArrayLike<number>,
  sizes: readonly number[],
): { token: number; value: number } {
  let best = 0
  for (let i = 1; i < val.length; i++) if (val[i] > val[best]) best = i
  let offset = 0
  for (let i = 0; i < best; i++) offset += sizes[i]
  return { token: offset + Number(idx[best]), value: Number(val[best]) }
}
