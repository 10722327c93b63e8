// What quantization (or any conversion choice) costs, measured: perplexity over a text in
// context-sized windows, agreement with a reference model's logits at every scored position
// (KL, top-1, cosine), and how long greedy continuations stay equal to the reference's.
import type { Model } from '../generate/engine.js'
import { UsageError } from '../util/errors.js'
import { AgreementStats, nll, type Agreement } from './metrics.js'

/** Logits some other tool computed (transformers, llama.cpp): after ids[0..i] for each i. */
export interface ReferenceLogits {
  readonly label: string
  readonly ids: readonly number[]
  /** logits[i] predicts ids[i + 1] (the last one predicts what follows). */
  readonly logits: readonly Float32Array[]
}

export interface EvalOptions {
  /** Text scored in windows of the model's context. */
  text?: string
  /** Score at most this many tokens of the text (default: all of it). */
  maxTextTokens?: number
  /** A reference model (same tokenizer) or logits over given ids. */
  reference?: Model | ReferenceLogits
  /** Prompts whose greedy continuations are compared with the reference model's. */
  prompts?: readonly string[]
  /** Greedy tokens per prompt (default 32). */
  maxTokens?: number
  /** Called after each position is scored (`done` of `total`). */
  onProgress?: (done: number, total: number) => void
}

/** A text's windows: each starts fresh (BOS when the tokenizer adds one) and is ≤ context. */
export interface Windows {
  /** Tokens of the text (without BOS). */
  readonly tokens: number
  /** Tokens per window, BOS included, and how far each window moves along the text. */
  readonly window: number
  readonly stride: number
  readonly list: readonly (readonly number[])[]
}

export interface PerplexityReport {
  readonly tokens: number
  readonly windows: number
  readonly window: number
  readonly stride: number
  /** Positions whose next token was scored. */
  readonly scored: number
  readonly meanNll: number
  readonly perplexity: number
  /** The reference's perplexity on the same positions (when it gives logits). */
  readonly referencePerplexity?: number
}

export interface GreedyMatch {
  readonly prompt: string
  /** Leading tokens equal to the reference's greedy continuation. */
  readonly matched: number
  /** Tokens compared (the shorter continuation's length). */
  readonly compared: number
}

export interface EvalReport {
  readonly model: string
  readonly reference?: string
  readonly text?: PerplexityReport
  /** Reference vs model at every scored position (KL(reference ‖ model)). */
  readonly agreement?: Agreement
  readonly greedy?: readonly GreedyMatch[]
}

/**
 * Splits a text's tokens into windows of `context` ids: the tokenizer's BOS (`prefix`, may be
 * empty) and then the next context − |prefix| tokens, so every token is scored once (the first
 * of a window without BOS has nothing to be predicted from and is not).
 */
export function textWindows(
  prefix: readonly number[],
  ids: readonly number[],
  context: number,
): Windows {
  const stride = context - prefix.length
  if (stride < 2) throw new RangeError(`context ${context} leaves no room to score a window`)
  const list: number[][] = []
  for (let s = 0; s < ids.length; s += stride) {
    const w = [...prefix, ...ids.slice(s, s + stride)]
    if (w.length >= 2) list.push(w)
  }
  return { tokens: ids.length, window: context, stride, list }
}

const isModel = (r: Model | ReferenceLogits): r is Model => 'forcedLogits' in r

/** Scores `model` as the options say; see EvalOptions. */
export async function evaluate(model: Model, o: EvalOptions): Promise<EvalReport> {
  const ref = o.reference
  const report: {
    model: string
    reference?: string
    text?: PerplexityReport
    agreement?: Agreement
    greedy?: GreedyMatch[]
  } = { model: model.meta.dir }
  if (ref) report.reference = isModel(ref) ? ref.meta.dir : ref.label

  // What to score: the reference logits' ids, or the text's windows.
  let windows: Windows
  if (ref && !isModel(ref)) {
    if (ref.ids.length > model.meta.context)
      throw new UsageError(
        `${ref.label}: ${ref.ids.length} ids do not fit the model's context of ${model.meta.context}`,
      )
    windows = { tokens: ref.ids.length, window: ref.ids.length, stride: 0, list: [ref.ids] }
  } else if (o.text !== undefined) {
    const prefix = model.tokenizer.encode('', { addSpecialTokens: true })
    let ids = model.tokenizer.encode(o.text, { addSpecialTokens: false })
    if (o.maxTextTokens !== undefined) ids = ids.slice(0, o.maxTextTokens)
    windows = textWindows(prefix, ids, model.meta.context)
  } else windows = { tokens: 0, window: 0, stride: 0, list: [] }

  if (windows.list.length) {
    const total = windows.list.reduce((n, w) => n + w.length, 0)
    const stats = ref ? new AgreementStats() : undefined
    let done = 0
    let nllSum = 0
    let refNllSum = 0
    let scored = 0
    windows.list.forEach((w, k) => {
      // the reference's logits for this window, position by position
      const refLogits: Float32Array[] = []
      if (ref && isModel(ref)) ref.forcedLogits(w, (_, l) => refLogits.push(l.slice()))
      else if (ref) refLogits.push(...ref.logits)
      model.forcedLogits(w, (i, logits) => {
        if (i + 1 < w.length) {
          nllSum += nll(logits, w[i + 1])
          if (refLogits[i]) refNllSum += nll(refLogits[i], w[i + 1])
          scored++
        }
        if (stats) {
          const r = refLogits[i]
          if (!r) throw new RangeError(`window ${k}: the reference has no logits at position ${i}`)
          stats.add(r, logits)
        }
        o.onProgress?.(++done, total)
      })
    })
    const meanNll = nllSum / scored
    report.text = {
      tokens: windows.tokens,
      windows: windows.list.length,
      window: windows.window,
      stride: windows.stride,
      scored,
      meanNll,
      perplexity: Math.exp(meanNll),
      ...(ref ? { referencePerplexity: Math.exp(refNllSum / scored) } : {}),
    }
    if (stats) report.agreement = stats.summary
  }

  if (o.prompts?.length) {
    if (!ref || !isModel(ref))
      throw new UsageError('--prompts compares greedy continuations: it needs a reference model')
    const maxTokens = o.maxTokens ?? 32
    const greedy: GreedyMatch[] = []
    for (const prompt of o.prompts) {
      const opts = { maxTokens, temperature: 0 }
      const a = (await model.complete(prompt, opts)).tokens
      const b = (await ref.complete(prompt, opts)).tokens
      const compared = Math.min(a.length, b.length)
      let matched = 0
      while (matched < compared && a[matched] === b[matched]) matched++
      greedy.push({ prompt, matched, compared })
    }
    report.greedy = greedy
  }
  return report
}
