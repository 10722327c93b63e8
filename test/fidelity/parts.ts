// A minimal driver of converted parts for fidelity tests, independent of the generation engine:
// embeddings → chunk 1..N (one shared KV-cache state) → LM head, one token through `infer` or
// up to B tokens (zero-padded) through `prefill`. Logits come back concatenated in vocab order.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { convert, type ConvertOptions } from '../../src/convert/pipeline.js'
import { palettizer } from '../../src/quant/index.js'
import { readPackage } from '../../src/package/read.js'
import {
  createState,
  loadFunction,
  makeTensor,
  type Executable,
  type State,
  type Tensor,
} from '../../src/runtime/index.js'

/** A converted model driven part by part. */
export interface PartsModel {
  readonly context: number
  readonly batch: number
  readonly vocab: number
  /** Zeroes the KV cache. */
  reset(): void
  /** Feeds one token at `pos` through `infer` and the LM head; returns the logits. */
  step(token: number, pos: number): Float32Array
  /** Feeds up to B tokens at positions pos.. through `prefill` (padded with id 0). */
  prefill(tokens: readonly number[], pos: number): void
}

const i32 = (shape: number[], v: readonly number[]) => makeTensor('int32', shape, v)

/** Mask rows first..first+rows−1 of the causal mask: 0 where visible, −inf where hidden. */
function maskRows(first: number, rows: number, context: number): Tensor {
  const m = new Float32Array(rows * context).fill(-Infinity)
  for (let r = 0; r < rows; r++)
    m.fill(0, r * context, r * context + Math.min(first + r + 1, context))
  return makeTensor('fp16', [1, 1, rows, context], m)
}

/** Opens the parts (`*_embeddings*`, `*_FFN_PF*_chunk_*`, `*_lm_head*`) of a conversion folder. */
export function openParts(dir: string): PartsModel {
  const files = readdirSync(dir).filter((f) => f.endsWith('.mlpackage'))
  const one = (re: RegExp) => {
    const f = files.filter((n) => re.test(n))
    if (f.length !== 1) throw new Error(`${dir}: expected one ${re} package, found ${f.join(', ')}`)
    return readPackage(join(dir, f[0]))
  }
  const emb = loadFunction(one(/_embeddings(_lut\d+)?\.mlpackage$/))
  const head = loadFunction(one(/_lm_head(_lut\d+)?\.mlpackage$/))
  const chunkPkgs = files
    .filter((f) => /_FFN_PF(_lut\d+)?_chunk_\d+of\d+\.mlpackage$/.test(f))
    .sort()
    .map((f) => readPackage(join(dir, f)))
  const infer = chunkPkgs.map((p) => loadFunction(p, 'infer'))
  const prefill = chunkPkgs.map((p) => loadFunction(p, 'prefill'))
  const mask = infer[0].inputs.find((i) => i.name === 'causal_mask')!
  const context = mask.shape[3] as number
  const batch = prefill[0].inputs.find((i) => i.name === 'position_ids')!.shape[0] as number
  const logitNames = head.outputs
    .filter((n) => /^logits\d+$/.test(n))
    .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
  let state: State = createState(...infer, ...prefill)
  const chain = (fns: Executable[], hidden: Tensor, pos: number, rows: number) => {
    const common = {
      position_ids: i32(
        [rows],
        Array.from({ length: rows }, (_, i) => pos + i),
      ),
      causal_mask: maskRows(pos, rows, context),
      current_pos: i32([1], [pos]),
    }
    let h = hidden
    for (const f of fns) h = f.run({ hidden_states: h, ...common }, state).output_hidden_states
    return h
  }
  let vocab = 0
  const model: PartsModel = {
    context,
    batch,
    get vocab() {
      return vocab
    },
    reset() {
      state = createState(...infer, ...prefill)
    },
    step(token, pos) {
      const h = emb.run({ input_ids: i32([1, 1], [token]) }).hidden_states
      const out = head.run({ hidden_states: chain(infer, h, pos, 1) })
      const parts = logitNames.map((n) => out[n].data as Float32Array)
      const logits = new Float32Array(parts.reduce((s, p) => s + p.length, 0))
      let at = 0
      for (const p of parts) {
        logits.set(p, at)
        at += p.length
      }
      vocab = logits.length
      return logits
    },
    prefill(tokens, pos) {
      if (tokens.length > batch) throw new Error(`prefill takes at most ${batch} tokens`)
      const ids = Array.from({ length: batch }, (_, i) => tokens[i] ?? 0)
      chain(prefill, emb.run({ input_ids: i32([1, batch], ids) }).hidden_states, pos, batch)
    },
  }
  return model
}

/** Logits at every position of `ids`, each token fed through `infer`. */
export function logitsByInfer(m: PartsModel, ids: readonly number[]): Float32Array[] {
  m.reset()
  return ids.map((t, p) => m.step(t, p))
}

/**
 * Logits at position k for every k ≥ 1, each from a fresh cache: tokens 0..k−1 through
 * `prefill` in B-sized windows (the last one padded), then token k through `infer`.
 */
export function logitsByPrefill(m: PartsModel, ids: readonly number[]): Float32Array[] {
  const out: Float32Array[] = []
  for (let k = 1; k < ids.length; k++) {
    m.reset()
    for (let p = 0; p < k; p += m.batch) m.prefill(ids.slice(p, Math.min(k, p + m.batch)), p)
    out.push(m.step(ids[k], k))
  }
  return out
}

/** Greedy continuation: prompt through `infer`, then `n` argmax tokens. */
export function greedy(m: PartsModel, prompt: readonly number[], n: number): number[] {
  m.reset()
  let logits: Float32Array = new Float32Array()
  prompt.forEach((t, p) => (logits = m.step(t, p)))
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t = argmax(logits)
    out.push(t)
    if (i + 1 < n) logits = m.step(t, prompt.length + i)
  }
  return out
}

/** Index of the largest value (the first on ties). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i
  return best
}

/** Converts `model` into `output` with test defaults: fp16, one chunk, no compile, quiet. */
export async function convertForTest(
  model: string,
  output: string,
  extra: Partial<ConvertOptions> = {},
): Promise<string> {
  const o: ConvertOptions = {
    model,
    output,
    context: 32,
    batch: 8,
    chunks: 1,
    maxChunkMb: 950,
    argmax: false,
    monolithic: false,
    restart: 1,
    seed: 0,
    compile: 'never',
    ...extra,
  }
  const lut = o.lut1 || o.lut2 || o.lut3
  await convert(o, { step: () => {} }, lut ? palettizer(o.seed) : undefined)
  return output
}
