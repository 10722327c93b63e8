// Calibration for `anemll convert --calibrate`: runs a text through the model as converted at
// fp16 (our executor, one infer step per token: preflight.ts runTokens) and measures, for
// every projection (a 1×1 conv reading a checkpoint weight), the second moment E[x_c²] of each
// input channel. Quantizing W so that W·x changes least weighs w[o, c]'s error by E[x_c²] (the
// diagonal of the layer's Hessian XᵀX); the palettizer takes these as k-means weights.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { MilFunction, Var } from '../mil/program.js'
import { loadTokenizer } from '../tokenizer/load.js'
import { UsageError } from '../util/errors.js'
import { monolithicModel, type PartOptions } from './parts.js'
import { runTokens } from './preflight.js'

/** The built-in calibration text (held apart from `anemll eval`'s text; see assets/calibration). */
export const DEFAULT_CALIBRATION_TEXT = new URL(
  '../../assets/calibration/burgess-buster-bear.txt',
  import.meta.url,
)

/** Tokens of the calibration text that are run (about 2 K: the built-in text, whole). */
export const CALIBRATION_TOKENS = 2048

/**
 * GPTQ's damping: λ·mean(E[x²]) is added to every channel, so a channel the text never excites
 * still weighs something and one loud channel cannot make the rest count for nothing.
 */
export const DAMPING = 0.01

/** Checkpoint name of the weight a conv reads (dense weights carry `ckpt:<name>|…` keys). */
function checkpointName(w: Var | undefined): string | undefined {
  const data = w?.constValue?.data ?? w?.producer?.value?.data
  const key = data && 'lazy' in data ? (data as { key?: string }).key : undefined
  return key?.startsWith('ckpt:') ? key.slice(5).split('|')[0] : undefined
}

/** Input var name → checkpoint names of the weights of the convs that read it. */
export function projectionInputs(fn: MilFunction): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const op of fn.block.operations) {
    if (op.type !== 'conv') continue
    const name = checkpointName(op.inputs.weight as Var | undefined)
    const x = op.inputs.x as Var | undefined
    if (!name || !x) continue
    out.set(x.name, [...(out.get(x.name) ?? []), name])
  }
  return out
}

/** Calibration token ids: `file` (or the built-in text) tokenized with special tokens, capped. */
export async function calibrationTokens(parts: PartOptions, file?: string): Promise<number[]> {
  const path = file ?? fileURLToPath(DEFAULT_CALIBRATION_TEXT)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new UsageError(`--calibrate ${path}: cannot read it (${(e as Error).message})`)
  }
  const tok = await loadTokenizer(parts.ckpt.tokenizerSource)
  const ids = tok.encode(text, { addSpecialTokens: true }).slice(0, CALIBRATION_TOKENS)
  if (ids.length < 16) {
    throw new UsageError(
      `--calibrate ${file ?? '(built-in text)'}: only ${ids.length} tokens; give a text of a few hundred words or more`,
    )
  }
  return ids
}

/**
 * Per checkpoint weight read by a projection, the importance of each input channel:
 * E[x_c²] over every calibration token, plus DAMPING × its mean over channels. The tokens run in
 * windows of the context, each from an empty cache.
 */
export function measureImportance(parts: PartOptions, tokens: number[]): Map<string, Float64Array> {
  const model = monolithicModel({ ...parts, lut: {}, argmax: false })
  const fn = model.program.functions.find((f) => f.name === 'infer')!
  const inputs = projectionInputs(fn)
  const sums = new Map<string, Float64Array>()
  runTokens(
    model,
    parts.context,
    tokens,
    (name) => inputs.has(name),
    (name, value) => {
      const x = value.data as Float32Array
      const channels = value.shape[1]
      const per = x.length / channels // positions: 1 for infer
      let s = sums.get(name)
      if (!s) sums.set(name, (s = new Float64Array(channels)))
      for (let c = 0; c < channels; c++)
        for (let p = 0; p < per; p++) s[c] += x[c * per + p] * x[c * per + p]
    },
  )
  const out = new Map<string, Float64Array>()
  for (const [v, names] of inputs) {
    const s = sums.get(v)
    if (!s) throw new Error(`calibration: projection input ${v} was never computed`)
    const mean = s.reduce((a, b) => a + b, 0) / s.length
    if (!(mean > 0 && mean < Infinity)) {
      throw new Error(`calibration: projection input ${v} has mean square ${mean / tokens.length}`)
    }
    const imp = s.map((x) => (x + DAMPING * mean) / tokens.length)
    for (const n of names) out.set(n, imp)
  }
  return out
}

/**
 * `--calibrate [FILE]`: the importance map for the converter's WeightBank, with a one-line note
 * of what was measured. `file` undefined: the built-in text.
 */
export async function calibrate(
  parts: PartOptions,
  file: string | undefined,
  note?: (text: string) => void,
): Promise<Map<string, Float64Array>> {
  if (!parts.lut.ffn && !parts.lut.lmHead && !parts.lut.embeddings) {
    throw new UsageError('--calibrate tunes LUT quantization: give --lut2 and/or --lut3 too')
  }
  const t = performance.now()
  const ids = await calibrationTokens(parts, file)
  const what = file ?? 'the built-in text'
  // One fp16 decode step per token: a minute for a 135M model, so say so before it starts.
  note?.(`calibration: running ${ids.length} tokens of ${what} through the fp16 model`)
  const imp = measureImportance(parts, ids)
  note?.(
    `calibration: ${imp.size} projections measured (${((performance.now() - t) / 1000).toFixed(1)} s)`,
  )
  return imp
}
