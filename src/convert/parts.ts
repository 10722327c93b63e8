// The model parts ANEMLL's runtimes load, with ANEMLL's exact interfaces: embeddings (part 1),
// transformer chunks with `infer` and `prefill` sharing one KV-cache state (part 2), the LM head
// split into logits1..K or reduced to argmax in the model (part 3), and the monolithic model.
import { rmsNorm, weightVar, type LayerContext, type Rotary } from '../arch/blocks.js'
import { ropeTables } from '../arch/rope.js'
import type { Architecture } from '../arch/types.js'
import type { LutSpec, WeightBank } from '../arch/weights.js'
import type { Checkpoint } from '../checkpoint/checkpoint.js'
import type { ModelConfig, RopeScaling } from '../checkpoint/config.js'
import { buildFunction, buildProgram, type FunctionBuilder } from '../mil/builder.js'
import type { MilFunction, Var } from '../mil/program.js'
import { state, tensor } from '../mil/types.js'
import type { CoreMLModel } from '../package/model.js'
import { VERSION } from '../version.js'

/** The KV-cache state name ANEMLL declares (`model.model.kv_cache_0`, dots made identifiers). */
export const KV_STATE = 'model_model_kv_cache_0'

export interface PartOptions {
  ckpt: Checkpoint
  arch: Architecture
  weights: WeightBank
  context: number
  batch: number
  lut: { embeddings?: LutSpec; ffn?: LutSpec; lmHead?: LutSpec }
  argmax: boolean
  /** fp16 remedy (see convert/preflight.ts): embeddings and residual updates scaled by this. */
  residualScale?: number
}

/** Balanced layer split (ANEMLL 0.3.5): the first L mod N chunks get one extra layer. */
export function chunkRanges(layers: number, chunks: number): [number, number][] {
  const base = Math.floor(layers / chunks)
  const rem = layers % chunks
  return Array.from({ length: chunks }, (_, i) => {
    const start = i * base + Math.min(i, rem)
    return [start, start + base + (i < rem ? 1 : 0)] as [number, number]
  })
}

/** Vocabulary split of the LM head: base = V div K, the first V mod K parts one larger. */
export function lmHeadSplit(vocab: number, parts: number): number[] {
  const base = Math.floor(vocab / parts)
  return Array.from({ length: parts }, (_, i) => base + (i < vocab % parts ? 1 : 0))
}

const kvShape = (cfg: ModelConfig, ctx: number) => [
  2 * cfg.num_hidden_layers,
  cfg.num_key_value_heads,
  ctx,
  cfg.head_dim,
]

function metadata(
  o: PartOptions,
  description: string,
  extra: Record<string, string>,
  lut?: LutSpec,
) {
  const info = `Converted with anemll (TypeScript) v${VERSION}`
  return {
    shortDescription: description,
    version: VERSION,
    author: info,
    userDefined: {
      'com.anemll.info': info,
      'com.anemll.context_length': String(o.context),
      ...(lut ? { 'com.anemll.lut_bits': String(lut.bits) } : {}),
      ...extra,
    },
  }
}

/** [1, S, H] → [1, H, 1, S] */
function toChannels(b: FunctionBuilder, x: Var, name: string): Var {
  return b.expand_dims({ x: b.transpose({ x, perm: [0, 2, 1] }, `${name}_t`), axes: [2] }, name)
}

/** [1, H, 1, S] → [1, S, H] */
function fromChannels(b: FunctionBuilder, x: Var, h: number, s: number, name: string): Var {
  return b.transpose({ x: b.reshape({ x, shape: [1, h, s] }, `${name}_r`), perm: [0, 2, 1] }, name)
}

function embed(b: FunctionBuilder, o: PartOptions, ids: Var): Var {
  const [v, h] = o.weights.shapeOf('model.embed_tokens.weight')
  const scale = (o.residualScale ?? 1) * (o.arch.embeddingScale?.(o.ckpt.config) ?? 1)
  const w = o.weights.get('model.embed_tokens.weight', [v, h], o.lut.embeddings, undefined, scale)
  const table = weightVar(b, w, 'embed_tokens_weight')
  return b.gather({ x: table, indices: ids, axis: 0 }, 'hidden_states')
}

/** Part 1: input_ids [1,1] or [1,B] (enumerated shapes) → hidden_states [1, S, H]. */
export function embeddingsModel(o: PartOptions): CoreMLModel {
  const fn = buildFunction(
    {
      name: 'main',
      inputs: {
        input_ids: {
          type: tensor('int32', [1, 'seq']),
          flexibility: {
            kind: 'enumerated',
            shapes: [
              [1, 1],
              [1, o.batch],
            ],
          },
          defaultShape: [1, 1],
        },
      },
    },
    (b, { input_ids }) => ({ hidden_states: embed(b, o, input_ids) }),
  )
  return {
    specVersion: 9,
    program: buildProgram([fn]),
    metadata: metadata(o, 'Anemll Model (Embeddings) converted to CoreML', {}, o.lut.embeddings),
  }
}

interface Stack {
  layers: [number, number]
  /** Apply the final norm (the chunk holding the last layer, infer only). */
  finalNorm: boolean
  /** Prefill of the last chunk: skip the last layer's MLP and return row 0 only. */
  prefillTail: boolean
}

/** The decoder layers of one function on channel-first hidden states. */
function runLayers(c: LayerContext, x: Var, arch: Architecture, s: Stack): Var {
  let h = x
  for (let l = s.layers[0]; l < s.layers[1]; l++) {
    const lastLayer = l === c.cfg.num_hidden_layers - 1
    h = arch.layer(c, h, l, s.prefillTail && lastLayer)
  }
  return s.finalNorm ? rmsNorm(c, h, 'model.norm', 1) : h
}

/** Inputs shared by chunk and monolithic functions, and the per-function layer context. */
function layerContext(
  b: FunctionBuilder,
  o: PartOptions,
  seq: number,
  ins: Record<string, Var>,
): LayerContext {
  const cfg = o.ckpt.config
  const tables = ropeTables(cfg, o.context)
  const positions = seq === 1 ? ins.current_pos : ins.position_ids
  const rows = (t: 'cos' | 'sin', tab: typeof tables, tag = '') => {
    const table = b.const(tab[t], `rope${tag}_${t}_table`)
    const g = b.gather({ x: table, indices: positions, axis: 0 }, `rope${tag}_${t}_rows`)
    return b.reshape({ x: g, shape: [1, 1, seq, cfg.head_dim] }, `rope${tag}_${t}`)
  }
  const cos = rows('cos', tables)
  const sin = rows('sin', tables)
  const other = new Map<string, Rotary>()
  const built = new Map<string, Var>()
  const rotary = (theta: number, scaling: RopeScaling | null): Rotary => {
    const key = JSON.stringify([theta, scaling])
    let r = other.get(key)
    if (!r) {
      const t = ropeTables({ ...cfg, rope_theta: theta, rope_scaling: scaling }, o.context)
      const tag = `_${other.size + 1}`
      r = { cos: rows('cos', t, tag), sin: rows('sin', t, tag) }
      other.set(key, r)
    }
    return r
  }
  return {
    b,
    cfg,
    weights: o.weights,
    lut: o.lut.ffn,
    seq,
    ctx: o.context,
    kv: ins[KV_STATE],
    pos: ins.current_pos,
    positions,
    once: (key, make) => {
      let v = built.get(key)
      if (!v) built.set(key, (v = make()))
      return v
    },
    mask: ins.causal_mask,
    cos,
    sin,
    rotary,
    normOffset: o.arch.normOffset ?? 0,
    residualScale: o.residualScale ?? 1,
  }
}

function stackInputs(
  o: PartOptions,
  seq: number,
  first: Record<string, ReturnType<typeof tensor>>,
) {
  const cfg = o.ckpt.config
  return {
    ...first,
    position_ids: tensor('int32', [seq]),
    causal_mask: tensor('fp16', [1, 1, seq, o.context]),
    current_pos: tensor('int32', [1]),
    [KV_STATE]: state(tensor('fp16', kvShape(cfg, o.context))),
  }
}

function chunkFunction(
  o: PartOptions,
  name: 'infer' | 'prefill',
  layers: [number, number],
): MilFunction {
  const cfg = o.ckpt.config
  const seq = name === 'infer' ? 1 : o.batch
  const last = layers[1] === cfg.num_hidden_layers
  const H = cfg.hidden_size
  return buildFunction(
    { name, inputs: stackInputs(o, seq, { hidden_states: tensor('fp16', [1, seq, H]) }) },
    (b, ins) => {
      const c = layerContext(b, o, seq, ins)
      const x = toChannels(b, ins.hidden_states, 'hidden_channels')
      const h = runLayers(c, x, o.arch, {
        layers,
        finalNorm: last && name === 'infer',
        prefillTail: last && name === 'prefill',
      })
      if (name === 'prefill' && last) {
        // ANEMLL's last prefill chunk returns row 0 only; the runtime ignores it.
        const row = b.slice_by_index({ x: h, begin: [0, 0, 0, 0], end: [1, H, 1, 1] }, 'first_row')
        return { output_hidden_states: fromChannels(b, row, H, 1, 'output_hidden_states') }
      }
      return { output_hidden_states: fromChannels(b, h, H, seq, 'output_hidden_states') }
    },
  )
}

/** Part 2, chunk `index` of `count`: functions `infer` (default) and `prefill`, one shared state. */
export function chunkModel(o: PartOptions, index: number, count: number): CoreMLModel {
  const layers = chunkRanges(o.ckpt.config.num_hidden_layers, count)[index]
  const program = buildProgram(
    [chunkFunction(o, 'infer', layers), chunkFunction(o, 'prefill', layers)],
    { defaultFunction: 'infer' },
  )
  const extra = {
    'com.anemll.num_chunks': String(count),
    'com.anemll.chunk_no': String(index + 1),
    'com.anemll.batch_size': String(o.batch),
    'com.anemll.layers': `${layers[0]}-${layers[1] - 1}`,
  }
  return {
    specVersion: 9,
    program,
    metadata: metadata(o, 'Anemll Model: Multifunction FFN+Prefill', extra, o.lut.ffn),
  }
}

/** The LM head's weight: the embeddings when tied (transformers then ignores a stored lm_head). */
export const lmHeadWeight = (cfg: ModelConfig): string =>
  cfg.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight'

/** LM head on normalized hidden states [1, 1, H]: logits1..K, or argmax_idx / argmax_val [K]. */
function lmHead(
  b: FunctionBuilder,
  o: PartOptions,
  hidden: Var,
  argmax: boolean,
): Record<string, Var> {
  const cfg = o.ckpt.config
  const H = cfg.hidden_size
  const sizes = lmHeadSplit(cfg.vocab_size, o.arch.splitLmHead)
  const x = b.reshape({ x: hidden, shape: [1, H, 1, 1] }, 'lm_head_input')
  const name = lmHeadWeight(cfg)
  const outs: Record<string, Var> = {}
  const idx: Var[] = []
  const vals: Var[] = []
  let start = 0
  sizes.forEach((n, i) => {
    const k = i + 1
    const w = weightVar(
      b,
      o.weights.get(name, [n, H, 1, 1], o.lut.lmHead, [start, start + n]),
      `lm_head${sizes.length}_${k}_weight`,
    )
    const logits = b.reshape(
      { x: b.conv({ x, weight: w }, `lm_head${sizes.length}_${k}`), shape: [1, 1, n] },
      `logits${k}`,
    )
    start += n
    if (!argmax) outs[`logits${k}`] = logits
    else {
      idx.push(b.reduce_argmax({ x: logits, axis: -1, keep_dims: false }, `argmax_idx_${k}`))
      vals.push(b.reduce_max({ x: logits, axes: [-1], keep_dims: false }, `argmax_val_${k}`))
    }
  })
  if (!argmax) return outs
  return {
    argmax_idx: b.reshape(
      { x: b.concat({ values: idx, axis: 0 }, 'argmax_idx_all'), shape: [sizes.length] },
      'argmax_idx',
    ),
    argmax_val: b.reshape(
      { x: b.concat({ values: vals, axis: 0 }, 'argmax_val_all'), shape: [sizes.length] },
      'argmax_val',
    ),
  }
}

function lmHeadMetadata(o: PartOptions): Record<string, string> {
  const cfg = o.ckpt.config
  return {
    'com.anemll.vocab_size': String(cfg.vocab_size),
    'com.anemll.lm_head_chunk_sizes': lmHeadSplit(cfg.vocab_size, o.arch.splitLmHead).join(','),
    ...(o.argmax ? { 'com.anemll.argmax_in_model': 'true' } : {}),
  }
}

/** Part 3: hidden_states [1, 1, H] (already normalized) → logits1..K or the argmax pair. */
export function lmHeadModel(o: PartOptions): CoreMLModel {
  const H = o.ckpt.config.hidden_size
  const fn = buildFunction(
    { name: 'main', inputs: { hidden_states: tensor('fp16', [1, 1, H]) } },
    (b, { hidden_states }) => lmHead(b, o, hidden_states, o.argmax),
  )
  return {
    specVersion: 9,
    program: buildProgram([fn]),
    metadata: metadata(
      o,
      'Anemll Model (LM Head) converted to CoreML',
      lmHeadMetadata(o),
      o.lut.lmHead,
    ),
  }
}

/** The whole model in one package: `infer` (1 token → logits) and `prefill` (B tokens, fills the cache). */
export function monolithicModel(o: PartOptions): CoreMLModel {
  const cfg = o.ckpt.config
  const H = cfg.hidden_size
  const fns = (['infer', 'prefill'] as const).map((name) => {
    const seq = name === 'infer' ? 1 : o.batch
    return buildFunction(
      { name, inputs: stackInputs(o, seq, { input_ids: tensor('int32', [1, seq]) }) },
      (b, ins) => {
        const c = layerContext(b, o, seq, ins)
        const x = toChannels(b, embed(b, o, ins.input_ids), 'hidden_channels')
        const all: [number, number] = [0, cfg.num_hidden_layers]
        const h = runLayers(c, x, o.arch, { layers: all, finalNorm: true, prefillTail: false })
        const row =
          seq === 1
            ? h
            : b.slice_by_index({ x: h, begin: [0, 0, 0, 0], end: [1, H, 1, 1] }, 'first_row')
        return lmHead(
          b,
          o,
          fromChannels(b, row, H, 1, 'final_hidden'),
          o.argmax && name === 'infer',
        )
      },
    )
  })
  const program = buildProgram(fns, { defaultFunction: 'infer' })
  const extra = { 'com.anemll.batch_size': String(o.batch), ...lmHeadMetadata(o) }
  return {
    specVersion: 9,
    program,
    metadata: metadata(o, 'Anemll Model (Monolithic) converted to CoreML', extra, o.lut.ffn),
  }
}
