// The converted parts as two calls: feed B tokens through `prefill`, or one token through `infer`
// (optionally with the LM head). Chunked models chain embeddings → chunk 1..N → LM head, with
// one KV-cache state shared by every chunk and both functions (contract §2.4–2.5); monolithic
// models run the whole chain in one function.
import { openModel } from '../package/open.js'
import type { CoreMLModel } from '../package/model.js'
import {
  createState,
  loadFunction,
  makeTensor,
  type Executable,
  type State,
  type Tensor,
} from '../runtime/index.js'
import { FormatError, ProgramError } from '../util/errors.js'
import {
  argmaxChunkSizes,
  combineArgmax,
  concatLogits,
  logitNames,
  type HeadOutput,
} from './head.js'
import { causalRows, updateMask } from './mask.js'
import { resolveParts, type ModelMeta } from './meta.js'

/** Runs the parts of one converted model. */
export interface Runner {
  /** C: KV-cache rows; positions 0..C−1. */
  readonly context: number
  /** B: tokens per prefill call. */
  readonly batch: number
  /** The LM head yields argmax results, not logits. */
  readonly argmax: boolean
  /** Parts found under another name than meta.yaml gives, one line each (resolveParts). */
  readonly notes?: readonly string[]
  /** A zero-filled KV cache for this model. */
  newState(): State
  /** Feeds exactly B tokens at positions start..start+B−1 (start + B ≤ C). */
  prefill(state: State, ids: readonly number[], start: number): void
  /** Feeds one token at position pos (< C); returns the head output when `head`. */
  infer(state: State, id: number, pos: number, head: true): HeadOutput
  infer(state: State, id: number, pos: number, head: boolean): HeadOutput | undefined
}

export interface RunnerOptions {
  /** Strict-fp16 execution (see the runtime's LoadOptions). */
  strictFp16?: boolean
  /**
   * Decode through tapes (Executable.runTaped: the same kernels on the same buffers, bit for
   * bit, without the interpreter's per-op work); default true. false interprets every step.
   */
  tapes?: boolean
}

/** The decode call of a function: taped unless the options say otherwise. */
function decoder(fn: Executable, opts: RunnerOptions) {
  return opts.tapes === false
    ? (inputs: Record<string, Tensor>, state?: State) => fn.run(inputs, state)
    : (inputs: Record<string, Tensor>, state?: State) => fn.runTaped(inputs, state)
}

const i32 = (shape: number[], v: readonly number[]) => makeTensor('int32', shape, v)

/**
 * The inputs `fn` declares, from the standard ANEMLL set; `update_mask` is built when declared.
 * Unknown inputs are a FormatError naming the function.
 */
function inputsFor(
  fn: Executable,
  file: string,
  given: Record<string, Tensor>,
  first: number,
  rows: number,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {}
  for (const info of fn.inputs) {
    if (given[info.name]) out[info.name] = given[info.name]
    else if (info.name === 'update_mask') {
      const shape = info.shape as number[]
      out[info.name] = makeTensor('fp16', shape, updateMask(first, rows, shape))
    } else
      throw new FormatError(
        file,
        `function '${fn.name}' has an input '${info.name}' anemll does not know`,
      )
  }
  return out
}

/** Position, mask and cache-index inputs for `rows` tokens starting at `first`. */
function positionInputs(first: number, rows: number, context: number): Record<string, Tensor> {
  return {
    position_ids: i32(
      [rows],
      Array.from({ length: rows }, (_, i) => first + i),
    ),
    causal_mask: makeTensor('fp16', [1, 1, rows, context], causalRows(first, rows, context)),
    current_pos: i32([1], [first]),
  }
}

/** The width of a function's causal_mask input (C). */
function maskWidth(fn: Executable, file: string): number {
  const m = fn.inputs.find((i) => i.name === 'causal_mask')
  const w = m?.shape[m.shape.length - 1]
  if (typeof w !== 'number')
    throw new FormatError(file, `'${fn.name}' has no fixed-width causal_mask`)
  return w
}

function checkShapes(meta: ModelMeta, file: string, infer: Executable, prefill?: Executable) {
  const c = maskWidth(infer, file)
  if (c !== meta.context)
    throw new FormatError(
      file,
      `causal_mask is ${c} wide but meta.yaml says context_length ${meta.context}`,
    )
  const rows = prefill?.inputs.find((i) => i.name === 'position_ids')?.shape[0]
  if (prefill && rows !== meta.batch)
    throw new FormatError(
      file,
      `prefill takes ${rows} tokens but meta.yaml says batch_size ${meta.batch}`,
    )
}

/** Head results from a head's (or monolithic infer's) outputs. */
function headReader(
  fn: Executable,
  model: CoreMLModel,
  meta: ModelMeta,
  file: string,
): { read: (out: Record<string, Tensor>) => HeadOutput; argmax: boolean } {
  if (fn.outputs.includes('argmax_idx')) {
    const sizes = argmaxChunkSizes(
      meta.splitLmHead,
      {
        metaSizes: meta.lmHeadChunkSizes,
        metadata: model.metadata.userDefined,
        vocabSize: meta.vocabSize,
      },
      file,
    )
    return {
      argmax: true,
      read: (out) => ({
        kind: 'argmax',
        ...combineArgmax(
          out.argmax_idx.data as Int32Array,
          out.argmax_val.data as Float32Array,
          sizes,
        ),
      }),
    }
  }
  const names = logitNames(fn.outputs, file)
  return { argmax: false, read: (out) => ({ kind: 'logits', logits: concatLogits(out, names) }) }
}

/** A function of the part in `file`; a part without it is a FormatError naming the file. */
function partFunction(
  file: string,
  model: CoreMLModel,
  name: string | undefined,
  opts: RunnerOptions,
): Executable {
  try {
    return loadFunction(model, name, opts)
  } catch (err) {
    if (err instanceof ProgramError) throw new FormatError(file, err.message)
    throw err
  }
}

async function chunkedRunner(
  meta: ModelMeta,
  paths: { embeddings: string; lmHead: string; chunks: string[] },
  opts: RunnerOptions,
): Promise<Runner> {
  const emb = partFunction(paths.embeddings, await openModel(paths.embeddings), undefined, opts)
  const headModel = await openModel(paths.lmHead)
  const head = partFunction(paths.lmHead, headModel, undefined, opts)
  const chunks = await Promise.all(
    paths.chunks.map(async (file) => {
      const m = await openModel(file)
      const c = {
        file,
        infer: partFunction(file, m, 'infer', opts),
        prefill: partFunction(file, m, 'prefill', opts),
      }
      checkShapes(meta, file, c.infer, c.prefill)
      return c
    }),
  )
  const reader = headReader(head, headModel, meta, paths.lmHead)
  // decoding replays tapes: each output is read before its function runs again
  const embed = decoder(emb, opts)
  const toLogits = decoder(head, opts)
  const steps = chunks.map((c) => decoder(c.infer, opts))
  const C = meta.context
  const B = meta.batch
  return {
    context: C,
    batch: B,
    argmax: reader.argmax,
    newState: () => createState(...chunks.flatMap((c) => [c.infer, c.prefill])),
    prefill(state, ids, start) {
      let h = emb.run({ input_ids: i32([1, B], ids) }).hidden_states
      const pos = positionInputs(start, B, C)
      for (const c of chunks)
        h = c.prefill.run(
          inputsFor(c.prefill, c.file, { hidden_states: h, ...pos }, start, B),
          state,
        ).output_hidden_states
    },
    infer(state: State, id: number, p: number, wantHead: boolean) {
      let h = embed({ input_ids: i32([1, 1], [id]) }).hidden_states
      const pos = positionInputs(p, 1, C)
      chunks.forEach((c, i) => {
        const given = { hidden_states: h, ...pos }
        h = steps[i](inputsFor(c.infer, c.file, given, p, 1), state).output_hidden_states
      })
      return (wantHead ? reader.read(toLogits({ hidden_states: h })) : undefined) as HeadOutput
    },
  }
}

async function monolithicRunner(
  meta: ModelMeta,
  file: string,
  opts: RunnerOptions,
): Promise<Runner> {
  const model = await openModel(file)
  const infer = partFunction(file, model, 'infer', opts)
  const prefill = partFunction(file, model, 'prefill', opts)
  checkShapes(meta, file, infer, prefill)
  const reader = headReader(infer, model, meta, file)
  const step = decoder(infer, opts)
  const C = meta.context
  const B = meta.batch
  return {
    context: C,
    batch: B,
    argmax: reader.argmax,
    newState: () => createState(infer, prefill),
    prefill(state, ids, start) {
      const given = { input_ids: i32([1, B], ids), ...positionInputs(start, B, C) }
      prefill.run(inputsFor(prefill, file, given, start, B), state)
    },
    infer(state: State, id: number, p: number, wantHead: boolean) {
      const given = { input_ids: i32([1, 1], [id]), ...positionInputs(p, 1, C) }
      const out = step(inputsFor(infer, file, given, p, 1), state)
      return (wantHead ? reader.read(out) : undefined) as HeadOutput
    },
  }
}

/** Opens every part named by a meta.yaml and plans its functions. */
export async function loadRunner(meta: ModelMeta, opts: RunnerOptions = {}): Promise<Runner> {
  const paths = resolveParts(meta)
  const runner = await (paths.kind === 'monolithic'
    ? monolithicRunner(meta, paths.model, opts)
    : chunkedRunner(meta, paths, opts))
  return { ...runner, notes: paths.notes }
}
