// Ops that models made by others use (coremltools' PyTorch frontend: pad, lstm; its TensorFlow
// frontend: while_loop with cond/body blocks and the list ops, as in DTLN-aec). anemll reads,
// type-checks, prints and writes them back, but neither builds nor runs them: they are not in
// OPS (no builder method, no kernel), only in the lookup table of src/mil/ops/index.ts.
import { defineOp, type InferCtx } from '../op-spec.js'
import {
  isDType,
  shapeToString,
  tensor,
  typeToString,
  type Dim,
  type ListType,
  type TensorType,
} from '../types.js'
import { materialize } from '../value.js'

const FLOAT = ['fp16', 'fp32'] as const
const ELEM = ['fp16', 'fp32', 'int32', 'bool'] as const

/** pad(x, pad, mode, constant_val): the last len(pad)/2 dims of x grow by pad's (before, after) pairs. */
export const pad = defineOp({
  type: 'pad',
  since: 'ios15',
  domains: { T: FLOAT, I: ['int32'], S: ['string'] },
  inputs: {
    x: { domain: 'T' },
    pad: { domain: 'I' },
    mode: { domain: 'S', const: true, optional: true },
    constant_val: { domain: 'T', const: true, optional: true },
  },
  infer: (c) => {
    const x = c.shape('x')
    const mode = c.string('mode', 'constant')
    if (!['constant', 'reflect', 'replicate'].includes(mode))
      return c.fail(`mode '${mode}' is not constant, reflect or replicate`)
    const len = c.shape('pad')
    if (len.length !== 1 || typeof len[0] !== 'number' || len[0] % 2 || len[0] > 2 * x.length)
      return c.fail(`pad ${shapeToString(len)} must be 2·N values for N <= rank ${x.length}`)
    const p = c.value('pad')
    const first = x.length - len[0] / 2
    const out = x.map((d, i): Dim => {
      if (i < first) return d
      const k = 2 * (i - first)
      return p && typeof d === 'number' ? d + p[k] + p[k + 1] : `${c.opName}_d${i}`
    })
    return [tensor(c.dtype('x'), out)]
  },
})

/** lstm: x [seq, batch, in], weights in the ifoz gate order; outputs the sequence (or last step), h and c. */
export const lstm = defineOp({
  type: 'lstm',
  since: 'ios15',
  multiOutput: true,
  domains: { T: FLOAT, S: ['string'], B: ['bool'] },
  inputs: {
    x: { domain: 'T' },
    initial_h: { domain: 'T' },
    initial_c: { domain: 'T' },
    weight_ih: { domain: 'T', const: true },
    weight_hh: { domain: 'T', const: true },
    bias: { domain: 'T', const: true, optional: true },
    peephole: { domain: 'T', const: true, optional: true },
    weight_ih_back: { domain: 'T', const: true, optional: true },
    weight_hh_back: { domain: 'T', const: true, optional: true },
    bias_back: { domain: 'T', const: true, optional: true },
    peephole_back: { domain: 'T', const: true, optional: true },
    direction: { domain: 'S', const: true, optional: true },
    output_sequence: { domain: 'B', const: true, optional: true },
    recurrent_activation: { domain: 'S', const: true, optional: true },
    cell_activation: { domain: 'S', const: true, optional: true },
    activation: { domain: 'S', const: true, optional: true },
    clip: { domain: 'T', const: true, optional: true },
  },
  infer: (c) => {
    const x = c.shape('x')
    if (x.length !== 3) return c.fail(`x must be [seq, batch, input], got ${shapeToString(x)}`)
    const whh = c.shape('weight_hh')
    if (whh.length !== 2) return c.fail(`weight_hh must be [4·H, H], got ${shapeToString(whh)}`)
    const direction = c.string('direction', 'forward')
    if (!['forward', 'reverse', 'bidirectional'].includes(direction))
      return c.fail(`direction '${direction}' is not forward, reverse or bidirectional`)
    const hidden = whh[1]
    const width =
      typeof hidden === 'number' ? (direction === 'bidirectional' ? 2 : 1) * hidden : hidden
    const seq = c.bool('output_sequence', false) ? x[0] : 1
    const dt = c.dtype('x')
    return [tensor(dt, [seq, x[1], width]), tensor(dt, [x[1], width]), tensor(dt, [x[1], width])]
  },
})

/** The list type of input `p`. */
function listOf(c: InferCtx, p: string): ListType & { elem: TensorType } {
  const t = c.var(p).type
  if (t.kind !== 'list' || t.elem.kind !== 'tensor')
    return c.fail(`input '${p}' must be a list of tensors, got ${typeToString(t)}`)
  return t as ListType & { elem: TensorType }
}

function sameElem(c: InferCtx, ls: TensorType, value: TensorType, what: string): void {
  if (value.dtype !== ls.dtype)
    c.fail(`${what} is ${typeToString(value)} but the list holds ${typeToString(ls)}`)
}

/** make_list(init_length, dynamic_length, elem_shape, dtype): an empty list of tensors. */
export const make_list = defineOp({
  type: 'make_list',
  since: 'ios15',
  domains: { I: ['int32'], B: ['bool'], S: ['string'], E: ['int32', 'string'] },
  inputs: {
    init_length: { domain: 'I', optional: true },
    dynamic_length: { domain: 'B', const: true, optional: true },
    // One scalar per dim: a size, or a string naming a size known only at run time.
    elem_shape: { domain: 'E', const: true, variadic: true, optional: true },
    dtype: { domain: 'S', const: true, optional: true },
  },
  infer: (c) => {
    const dtype = c.string('dtype', 'fp32')
    if (!isDType(dtype)) return c.fail(`dtype '${dtype}' is not a MIL dtype`)
    const shape = c.vars('elem_shape').map((v): Dim => {
      const cv = v.constValue
      if (!cv || cv.type.shape.length > 0) return c.fail(`elem_shape entries must be scalars`)
      const x = (materialize(cv) as ArrayLike<unknown>)[0]
      return typeof x === 'number' ? x : '?'
    })
    const length = c.has('init_length') ? (c.value('init_length')?.[0] ?? '?') : 1
    return [{ kind: 'list', elem: tensor(dtype, shape), length }]
  },
})

/** list_read(ls, index): one element. */
export const list_read = defineOp({
  type: 'list_read',
  since: 'ios15',
  domains: { L: [], I: ['int32'] },
  inputs: { ls: { domain: 'L', list: true }, index: { domain: 'I' } },
  infer: (c) => [listOf(c, 'ls').elem],
})

/** list_write(ls, index, value): the list with one element set. */
export const list_write = defineOp({
  type: 'list_write',
  since: 'ios15',
  domains: { L: [], I: ['int32'], T: ELEM },
  inputs: { ls: { domain: 'L', list: true }, index: { domain: 'I' }, value: { domain: 'T' } },
  infer: (c) => {
    const ls = listOf(c, 'ls')
    sameElem(c, ls.elem, c.tensor('value'), 'value')
    return [ls]
  },
})

/** list_scatter(ls, indices, value): value[i] stored at indices[i]. */
export const list_scatter = defineOp({
  type: 'list_scatter',
  since: 'ios15',
  domains: { L: [], I: ['int32'], T: ELEM },
  inputs: { ls: { domain: 'L', list: true }, indices: { domain: 'I' }, value: { domain: 'T' } },
  infer: (c) => {
    const ls = listOf(c, 'ls')
    const value = c.tensor('value')
    sameElem(c, ls.elem, value, 'value')
    if (c.rank('indices') !== 1 || value.shape.length !== ls.elem.shape.length + 1)
      return c.fail(
        `value ${shapeToString(value.shape)} must be [len(indices)] + the element shape ${shapeToString(ls.elem.shape)}`,
      )
    return [ls]
  },
})

/** list_gather(ls, indices): the elements at indices, stacked on a new first axis. */
export const list_gather = defineOp({
  type: 'list_gather',
  since: 'ios15',
  domains: { L: [], I: ['int32'] },
  inputs: { ls: { domain: 'L', list: true }, indices: { domain: 'I' } },
  infer: (c) => {
    const { elem } = listOf(c, 'ls')
    const n = c.shape('indices')
    if (n.length !== 1) return c.fail(`indices must be 1-D, got ${shapeToString(n)}`)
    return [tensor(elem.dtype, [n[0], ...elem.shape])]
  },
})

/**
 * while_loop(loop_vars) { cond block; body block }: the blocks take the loop vars as inputs
 * (each block names them itself), cond yields a bool, body the next loop vars; the outputs are
 * the loop vars' last values, so they have the loop vars' types.
 */
export const while_loop = defineOp({
  type: 'while_loop',
  since: 'ios15',
  multiOutput: true,
  domains: { T: ['fp16', 'fp32', 'int32', 'bool'] },
  inputs: { loop_vars: { domain: 'T', variadic: true, list: true } },
  infer: (c) => c.vars('loop_vars').map((v) => v.type),
})
