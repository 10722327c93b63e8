// Shared transformer blocks on the MIL builder, in the ANE's preferred layout: activations are
// channel-first [1, C, 1, S] and every projection is a 1×1 conv. Each block follows the Hugging
// Face model's math; names follow the checkpoint (`layers.3.self_attn.q_proj`).
import type { ModelConfig, RopeScaling } from '../checkpoint/config.js'
import { constant, type FunctionBuilder } from '../mil/builder.js'
import type { Var } from '../mil/program.js'
import { UsageError } from '../util/errors.js'
import type { GraphWeight, LutSpec, WeightBank } from './weights.js'

/** Everything a layer needs while one function (infer or prefill) is being built. */
export interface LayerContext {
  b: FunctionBuilder
  cfg: ModelConfig
  weights: WeightBank
  /** LUT for projection weights of this part, if any. */
  lut?: LutSpec
  /** Query length of this function: 1 for infer, the batch for prefill. */
  seq: number
  /** Context length (= KV-cache length). */
  ctx: number
  /** The unified KV-cache state [2L, nKV, ctx, hd]. */
  kv: Var
  /** Position of the first query row (int32 [1]). */
  pos: Var
  /** Position of every query row (int32 [seq]). */
  positions: Var
  /** A value built once per function under `key` (shared rows, masks). */
  once(key: string, make: () => Var): Var
  /** Causal mask rows for the queries, [1, 1, seq, ctx] fp16 (0 visible, -inf hidden). */
  mask: Var
  /** cos / sin rows for the queries, [1, 1, seq, hd] fp16, from the config's rope_theta/scaling. */
  cos: Var
  sin: Var
  /** cos / sin rows for another base and scaling (e.g. Gemma's local layers), built once per function. */
  rotary(theta: number, scaling: RopeScaling | null): Rotary
  /** RMSNorm gains are (offset + w): 0, or 1 for Gemma's zero-centred weights. */
  normOffset: number
  /**
   * fp16 remedy: every residual update is scaled by this (the layer graph passes it to the weights
   * that write them: o_proj / down_proj, or Gemma's post-norm gains).
   */
  residualScale: number
}

/** cos / sin rows for the queries, [1, 1, seq, hd] fp16. */
export interface Rotary {
  cos: Var
  sin: Var
}

/** A weight as a graph var: a const, or a LUT constexpr over two consts. */
export function weightVar(b: FunctionBuilder, w: GraphWeight, name: string): Var {
  if (w.kind === 'dense') return b.const(w.value, name)
  const indices = b.const(w.indices, `${name}_indices`)
  const lut = b.const(w.lut, `${name}_lut`)
  return b.constexpr_lut_to_dense({ indices, lut }, name)
}

/** A Linear layer as a 1×1 conv: x [1, in, 1, S] → [1, out, 1, S]; HF weight [out, in]. */
export function linear(
  c: LayerContext,
  x: Var,
  hfName: string,
  opts: { bias?: boolean; lut?: boolean; scale?: number } = {},
): Var {
  const [out, inp] = c.weights.shapeOf(`${hfName}.weight`)
  const lut = opts.lut === false ? undefined : c.lut
  const w = c.weights.get(`${hfName}.weight`, [out, inp, 1, 1], lut, undefined, opts.scale)
  const weight = weightVar(c.b, w, `${short(hfName)}_weight`)
  const bias = opts.bias
    ? weightVar(
        c.b,
        c.weights.get(`${hfName}.bias`, [out], undefined, undefined, opts.scale),
        `${short(hfName)}_bias`,
      )
    : undefined
  return c.b.conv(bias ? { x, weight, bias } : { x, weight }, short(hfName))
}

/** `model.layers.3.self_attn.q_proj` → `layers.3.self_attn.q_proj` (the builder makes it an identifier). */
export const short = (hfName: string) => hfName.replace(/^model\./, '')

/**
 * RMSNorm along `axis` computed as LayerNorm of [x, −x]: that vector has zero mean and variance
 * mean(x²), so the result is exactly x / sqrt(mean(x²) + eps) — on the ANE's LayerNorm kernel,
 * without forming x² in fp16.
 */
export function rmsNorm(
  c: LayerContext,
  x: Var,
  hfName: string,
  axis: number,
  opts: { scale?: number } = {},
): Var {
  const { b } = c
  const shape = x.type.kind === 'tensor' ? x.type.shape : []
  const n = Number(shape[axis])
  const name = short(hfName)
  const both = b.concat({ values: [x, b.mul({ x, y: -1 }, `${name}_neg`)], axis }, `${name}_pair`)
  const normed = b.layer_norm({ x: both, axes: [axis], epsilon: c.cfg.rms_norm_eps }, `${name}_ln`)
  const begin = shape.map(() => 0)
  const end = shape.map((d, i) => (i === axis ? n : Number(d)))
  const half = b.slice_by_index({ x: normed, begin, end }, `${name}_half`)
  const gainShape = shape.map((_, i) => (i === axis ? n : 1))
  const w = c.weights.get(
    `${hfName}.weight`,
    gainShape,
    undefined,
    undefined,
    opts.scale,
    c.normOffset,
  )
  const gain = weightVar(b, w, `${name}_weight`)
  return b.mul({ x: half, y: gain }, name)
}

/** Rotary embedding, rotate-half convention: x·cos + concat(−x2, x1)·sin; x [1, heads, S, hd]. */
export function rope(
  c: LayerContext,
  x: Var,
  heads: number,
  name: string,
  r: Rotary = { cos: c.cos, sin: c.sin },
): Var {
  const { b, seq } = c
  const hd = c.cfg.head_dim
  const x1 = b.slice_by_index(
    { x, begin: [0, 0, 0, 0], end: [1, heads, seq, hd / 2] },
    `${name}_x1`,
  )
  const x2 = b.slice_by_index(
    { x, begin: [0, 0, 0, hd / 2], end: [1, heads, seq, hd] },
    `${name}_x2`,
  )
  const rot = b.concat(
    { values: [b.mul({ x: x2, y: -1 }, `${name}_neg_x2`), x1], axis: -1 },
    `${name}_rot`,
  )
  return b.add(
    { x: b.mul({ x, y: r.cos }, `${name}_cos`), y: b.mul({ x: rot, y: r.sin }, `${name}_sin`) },
    name,
  )
}

/** [1, heads·hd, 1, S] → [1, heads, S, hd] */
export function toHeads(c: LayerContext, x: Var, heads: number, name: string): Var {
  const r = c.b.reshape({ x, shape: [1, heads, c.cfg.head_dim, c.seq] }, `${name}_split`)
  return c.b.transpose({ x: r, perm: [0, 1, 3, 2] }, name)
}

/** [1, heads, S, hd] → [1, heads·hd, 1, S] */
export function fromHeads(c: LayerContext, x: Var, heads: number, name: string): Var {
  const t = c.b.transpose({ x, perm: [0, 1, 3, 2] }, `${name}_t`)
  return c.b.reshape({ x: t, shape: [1, heads * c.cfg.head_dim, 1, c.seq] }, name)
}

export interface AttentionOptions {
  /** RMSNorm of q and k over head_dim, before RoPE (`q_norm`, `k_norm`). */
  qkNorm?: boolean
  /** Biases on q, k and v. */
  qkvBias?: boolean
  /** A bias on o (scaled with the residual update). */
  oBias?: boolean
  /** Query scale (default 1/√head_dim; Gemma: query_pre_attn_scalar^-½). */
  scale?: number
  /** RoPE rows (default: the context's). */
  rotary?: Rotary
  /** Attention mask (default: the causal mask input; see slidingMask). */
  mask?: Var
  /** Multiply o_proj by the fp16 residual scale (default true; false where a post-norm follows). */
  scaleOutput?: boolean
}

/**
 * Grouped-query self-attention with the KV cache: writes this layer's K and V rows at
 * current_pos (global layer index `layer`: K at `layer`, V at `L + layer`), then attends over the
 * whole cache slice under the causal mask. Query heads are grouped per KV head with a reshape,
 * so K and V are never repeated in memory.
 */
export function attention(
  c: LayerContext,
  x: Var,
  layer: number,
  opts: AttentionOptions = {},
): Var {
  const { b, cfg, seq, ctx } = c
  const nH = cfg.num_attention_heads
  const nKV = cfg.num_key_value_heads
  const hd = cfg.head_dim
  const L = cfg.num_hidden_layers
  const p = `model.layers.${layer}.self_attn`
  const bias = !!opts.qkvBias
  let q = toHeads(c, linear(c, x, `${p}.q_proj`, { bias }), nH, `${short(p)}.q`)
  let k = toHeads(c, linear(c, x, `${p}.k_proj`, { bias }), nKV, `${short(p)}.k`)
  const v = toHeads(c, linear(c, x, `${p}.v_proj`, { bias }), nKV, `${short(p)}.v`)
  if (opts.qkNorm) {
    q = rmsNorm(c, q, `${p}.q_norm`, 3)
    k = rmsNorm(c, k, `${p}.k_norm`, 3)
  }
  q = rope(c, q, nH, `${short(p)}.q_rope`, opts.rotary)
  k = rope(c, k, nKV, `${short(p)}.k_rope`, opts.rotary)

  // Cache write: rows pos .. pos+seq of slices `layer` (K) and `L + layer` (V).
  const end = b.add({ x: c.pos, y: [seq] }, `${short(p)}.pos_end`)
  const rowsK = [
    b.concat({ values: [[layer, 0], c.pos, [0]], axis: 0 }, `${short(p)}.k_begin`),
    b.concat({ values: [[layer + 1, nKV], end, [hd]], axis: 0 }, `${short(p)}.k_end`),
  ]
  const rowsV = [
    b.concat({ values: [[L + layer, 0], c.pos, [0]], axis: 0 }, `${short(p)}.v_begin`),
    b.concat({ values: [[L + layer + 1, nKV], end, [hd]], axis: 0 }, `${short(p)}.v_end`),
  ]
  const cache = b.read_state({ input: c.kv }, `${short(p)}.cache`)
  const withK = b.slice_update(
    { x: cache, update: k, begin: rowsK[0], end: rowsK[1] },
    `${short(p)}.cache_k`,
  )
  const withKV = b.slice_update(
    { x: withK, update: v, begin: rowsV[0], end: rowsV[1] },
    `${short(p)}.cache_kv`,
  )
  const updated = b.coreml_update_state({ state: c.kv, value: withKV }, `${short(p)}.cache_updated`)
  const keys = b.slice_by_index(
    { x: updated, begin: [layer, 0, 0, 0], end: [layer + 1, nKV, ctx, hd] },
    `${short(p)}.keys`,
  )
  const values = b.slice_by_index(
    { x: updated, begin: [L + layer, 0, 0, 0], end: [L + layer + 1, nKV, ctx, hd] },
    `${short(p)}.values`,
  )

  // Scores per KV group: q [1, nH, seq, hd] → [1, nKV, rep·seq, hd] (heads g·rep + r stay together).
  const rep = nH / nKV
  const qs = b.mul({ x: q, y: opts.scale ?? 1 / Math.sqrt(hd) }, `${short(p)}.q_scaled`)
  const qg = b.reshape({ x: qs, shape: [1, nKV, rep * seq, hd] }, `${short(p)}.q_groups`)
  const scores = b.matmul({ x: qg, y: keys, transpose_y: true }, `${short(p)}.scores`)
  const perHead = b.reshape({ x: scores, shape: [1, nH, seq, ctx] }, `${short(p)}.scores_heads`)
  const masked = b.add({ x: perHead, y: opts.mask ?? c.mask }, `${short(p)}.scores_masked`)
  const probs = b.softmax({ x: masked, axis: -1 }, `${short(p)}.probs`)
  const pg = b.reshape({ x: probs, shape: [1, nKV, rep * seq, ctx] }, `${short(p)}.probs_groups`)
  const out = b.matmul({ x: pg, y: values }, `${short(p)}.context`)
  const heads = b.reshape({ x: out, shape: [1, nH, seq, hd] }, `${short(p)}.context_heads`)
  return linear(c, fromHeads(c, heads, nH, `${short(p)}.context_flat`), `${p}.o_proj`, {
    bias: !!opts.oBias,
    scale: opts.scaleOutput === false ? 1 : c.residualScale,
  })
}

/**
 * The causal mask narrowed to a sliding window of `window` keys, as transformers' sliding layers
 * see it: key j is also hidden from the query at position p when j <= p - window. Built from the
 * positions, so runtimes pass the ordinary causal mask.
 */
export function slidingMask(c: LayerContext, window: number): Var {
  return c.once(`window${window}`, () => {
    const { b, seq, ctx } = c
    const n = `window${window}`
    const columns = Array.from({ length: ctx }, (_, j) => j)
    const cols = b.const(constant('int32', [1, 1, 1, ctx], columns), `${n}_columns`)
    const rows = b.reshape({ x: c.positions, shape: [1, 1, seq, 1] }, `${n}_rows`)
    const edge = b.sub({ x: rows, y: [window] }, `${n}_edge`)
    const far = b.less_equal({ x: cols, y: edge }, `${n}_far`)
    const hidden = b.add({ x: c.mask, y: -Infinity }, `${n}_hidden`)
    return b.select({ cond: far, a: hidden, b: c.mask }, `${n}_mask`)
  })
}

/** Activations by config.json `hidden_act`. */
const ACTIVATIONS: Record<string, (b: FunctionBuilder, x: Var, name: string) => Var> = {
  silu: (b, x, name) => b.silu({ x }, name),
  swish: (b, x, name) => b.silu({ x }, name),
  gelu: (b, x, name) => b.gelu({ x, mode: 'EXACT' }, name),
  gelu_pytorch_tanh: (b, x, name) => b.gelu({ x, mode: 'TANH_APPROXIMATION' }, name),
  relu: (b, x, name) => b.relu({ x }, name),
}
export const SUPPORTED_ACTIVATIONS = Object.keys(ACTIVATIONS)

/** Gated MLP: down(act(gate(x)) · up(x)); `bias` on all three projections. */
export function mlp(
  c: LayerContext,
  x: Var,
  layer: number,
  opts: { bias?: boolean; scaleOutput?: boolean } = {},
): Var {
  const p = `model.layers.${layer}.mlp`
  // Configs are checked when parsed; this guards configs built by hand through the API.
  const act = Object.hasOwn(ACTIVATIONS, c.cfg.hidden_act) ? ACTIVATIONS[c.cfg.hidden_act] : null
  if (!act)
    throw new UsageError(
      `hidden_act '${c.cfg.hidden_act}' is not supported (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`,
    )
  const bias = !!opts.bias
  const gate = act(c.b, linear(c, x, `${p}.gate_proj`, { bias }), `${short(p)}.act`)
  const up = linear(c, x, `${p}.up_proj`, { bias })
  return linear(c, c.b.mul({ x: gate, y: up }, `${short(p)}.gated`), `${p}.down_proj`, {
    bias,
    scale: opts.scaleOutput === false ? 1 : c.residualScale,
  })
}
