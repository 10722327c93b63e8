// Strict weights: a conversion accounts for every checkpoint tensor before it writes anything.
// Each one is read by the architecture's graph for this config, or listed by the architecture as
// knowingly unused; a tensor the graph needs must be there. Nothing is dropped silently.
import type { Architecture } from '../arch/types.js'
import type { Checkpoint } from '../checkpoint/checkpoint.js'
import { FormatError } from '../util/errors.js'
import { lmHeadWeight } from './parts.js'

/** Every tensor the conversion of `ckpt` reads: the architecture's, and the LM head's. */
export function tensorsRead(arch: Architecture, ckpt: Checkpoint): Set<string> {
  return new Set([...arch.tensors(ckpt.config), lmHeadWeight(ckpt.config)])
}

/** Throws a one-line FormatError naming the first missing or unaccounted tensor. */
export function checkWeights(arch: Architecture, ckpt: Checkpoint): void {
  const cfg = ckpt.config
  const file = ckpt.source.kind === 'hf' ? ckpt.source.dir : ckpt.source.file
  const read = tensorsRead(arch, ckpt)
  const have = new Set(ckpt.tensorNames())
  for (const name of read)
    if (!have.has(name))
      throw new FormatError(
        file,
        `tensor '${name}' is missing (the ${cfg.model_type} graph reads it)`,
      )
  for (const name of have) {
    if (read.has(name) || arch.unused.some((r) => r.test(name))) continue
    // A tied head reads the embeddings; transformers ignores a stored copy too.
    if (name === 'lm_head.weight' && cfg.tie_word_embeddings) continue
    throw new FormatError(
      file,
      `tensor '${name}' is not used by the ${cfg.model_type} graph with this config (a config flag the converter does not honour, or a model it does not support)`,
    )
  }
}
