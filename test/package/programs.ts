// Small programs built with our builder, shaped like the parts a conversion makes.
import { buildFunction, buildProgram, constant } from '../../src/mil/builder.js'
import type { Var } from '../../src/mil/program.js'
import { state, tensor } from '../../src/mil/types.js'
import type { CoreMLModel } from '../../src/package/model.js'

/** Deterministic pseudo-random fp16 weights. */
export function weights(shape: number[], seed: number) {
  const n = shape.reduce((a, b) => a * b, 1)
  let s = seed >>> 0
  const values = Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return (s / 2 ** 32 - 0.5) * 0.2
  })
  return constant('fp16', shape, values)
}

const H = 16
const CTX = 8

/** An attention-free "chunk": rms-like norm, two 1×1 convs, KV-state write at current_pos. */
function chunkFunction(name: string, seqLen: number, w: ReturnType<typeof weights>[]) {
  return buildFunction(
    {
      name,
      inputs: {
        hidden_states: tensor('fp16', [1, seqLen, H]),
        current_pos: tensor('int32', [1]),
        causal_mask: tensor('fp16', [1, 1, seqLen, CTX]),
        model_model_kv_cache_0: state(tensor('fp16', [2, 1, CTX, H])),
      },
    },
    (b, { hidden_states: x, current_pos: pos, causal_mask: mask, model_model_kv_cache_0: kv }) => {
      const h = b.scope('layers.0', () => {
        const sq = b.mul({ x, y: x }, 'sq')
        const ms = b.reduce_mean({ x: sq, axes: [-1], keep_dims: true }, 'ms')
        const inv = b.rsqrt({ x: ms, epsilon: 1e-5 }, 'inv')
        const n = b.mul({ x, y: inv }, 'norm')
        const t = b.transpose({ x: n, perm: [0, 2, 1] }, 'to_channels')
        const c = b.expand_dims({ x: t, axes: [2] }, 'nchw')
        const k = b.conv({ x: c, weight: w[0] }, 'k_proj')
        const up = b.silu({ x: b.conv({ x: c, weight: w[1] }, 'up_proj') }, 'act')
        const k2 = b.reshape({ x: k, shape: [1, 1, H, seqLen] }, 'k_flat')
        const kt = b.transpose({ x: k2, perm: [0, 1, 3, 2] }, 'k_rows')
        const end = b.add({ x: pos, y: [seqLen] }, 'end')
        const begin = b.concat({ values: [[0, 0], pos, [0]], axis: 0 }, 'begin')
        const stop = b.concat({ values: [[1, 1], end, [H]], axis: 0 }, 'stop')
        const cache = b.read_state({ input: kv }, 'cache')
        const upd = b.slice_update({ x: cache, update: kt, begin, end: stop }, 'cache_upd')
        const cur = b.coreml_update_state({ state: kv, value: upd }, 'cache_new')
        const keys = b.slice_by_index({ x: cur, begin: [0, 0, 0, 0], end: [1, 1, CTX, H] }, 'keys')
        const q = b.reshape({ x: n, shape: [1, 1, seqLen, H] }, 'q')
        const s = b.matmul({ x: q, y: keys, transpose_y: true }, 'scores')
        const p = b.softmax({ x: b.add({ x: s, y: mask }, 'masked'), axis: -1 }, 'probs')
        const o = b.matmul({ x: p, y: keys }, 'attn')
        const mix = b.reduce_sum({ x: up, axes: [1], keep_dims: false }, 'mix')
        return b.add(
          {
            x: b.reshape({ x: o, shape: [1, seqLen, H] }, 'attn_flat'),
            y: b.reshape({ x: mix, shape: [1, seqLen, 1] }, 'mix_flat'),
          },
          'out',
        )
      })
      return { output_hidden_states: h as Var }
    },
  )
}

/** A multi-function, stateful model (`infer` + `prefill` sharing weights), like an ANEMLL chunk. */
export function chunkModel(): CoreMLModel {
  const w = [weights([H, H, 1, 1], 1), weights([32, H, 1, 1], 2)]
  const program = buildProgram([chunkFunction('infer', 1, w), chunkFunction('prefill', 4, w)], {
    defaultFunction: 'infer',
  })
  return {
    specVersion: 9,
    program,
    metadata: { author: 'anemll tests', userDefined: { 'com.anemll.test': 'chunk' } },
  }
}

/** A single-function model with a per-grouped-channel LUT4 weight and an argmax output. */
export function lutModel(): CoreMLModel {
  const fn = buildFunction(
    { name: 'main', inputs: { hidden_states: tensor('fp16', [1, H, 1, 1]) } },
    (b, { hidden_states: x }) => {
      const idx = b.const(
        constant(
          'uint4',
          [32, H, 1, 1],
          Array.from({ length: 32 * H }, (_, i) => (i * 7) % 16),
        ),
        'lm_head_weight_indices',
      )
      const lut = b.const(
        constant(
          'fp16',
          [4, 1, 1, 1, 16, 1],
          Array.from({ length: 64 }, (_, i) => (i - 32) / 16),
        ),
        'lm_head_weight_lut',
      )
      const w = b.constexpr_lut_to_dense({ indices: idx, lut }, 'lm_head_weight')
      const logits = b.conv({ x, weight: w }, 'logits')
      const flat = b.reshape({ x: logits, shape: [1, 32] }, 'logits_flat')
      const arg = b.reduce_argmax({ x: flat, axis: -1, keep_dims: true }, 'argmax_idx')
      const val = b.reduce_max({ x: flat, axes: [-1], keep_dims: true }, 'argmax_val')
      return { logits1: flat, argmax_idx: arg, argmax_val: val }
    },
  )
  return { specVersion: 9, program: buildProgram([fn]), metadata: { userDefined: {} } }
}
