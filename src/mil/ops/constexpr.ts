// Compressed constants, iOS18 definitions (format doc §6.30–§6.33). constexpr ops are evaluated
// when the model loads; their outputs count as constants.
import { defineOp, type InferCtx } from '../op-spec.js'
import { DTYPES, shapeToString, tensor, type Dim, type DType } from '../types.js'

const INDICES = ['uint1', 'uint2', 'uint3', 'uint4', 'uint6', 'uint8'] as const
const LUT = ['int8', 'uint8', 'fp16', 'fp32'] as const

export const constexpr_lut_to_dense = defineOp({
  type: 'constexpr_lut_to_dense',
  since: 'ios18',
  constexpr: true,
  domains: { I: INDICES, T: LUT, A: ['int32'] },
  inputs: {
    indices: { domain: 'I', const: true },
    lut: { domain: 'T', const: true },
    vector_axis: { domain: 'A', const: true, optional: true },
  },
  infer: (c) => {
    const idx = c.shape('indices')
    const lut = c.shape('lut')
    const r = idx.length
    if (r < 1 || lut.length !== r + 2)
      return c.fail(
        `lut ${shapeToString(lut)} must have rank ${r + 2} for indices ${shapeToString(idx)}`,
      )
    const entries = 2 ** DTYPES[c.dtype('indices')].bits
    if (lut[r] !== entries)
      return c.fail(
        `lut ${shapeToString(lut)} needs ${entries} entries for ${c.dtype('indices')} indices`,
      )
    idx.forEach((d, i) => {
      if (typeof d === 'number' && typeof lut[i] === 'number' && d % (lut[i] as number))
        return c.fail(`indices dim ${i} (${d}) is not divisible by the lut's group count ${lut[i]}`)
    })
    const v = lut[r + 1] as number
    const out: Dim[] = [...idx]
    if (v > 1) {
      if (!c.has('vector_axis'))
        return c.fail(`vector_axis is required for vector palettization (V = ${v})`)
      const ax = c.axis(c.scalar('vector_axis'), r, 'vector_axis')
      out[ax] = (out[ax] as number) * v
    }
    return [tensor(c.dtype('lut'), out)]
  },
})

const blockScaleShape = (c: InferCtx, data: readonly Dim[], p: string) => {
  const s = c.shape(p)
  if (s.length !== data.length)
    return c.fail(`${p} ${shapeToString(s)} must have the rank of data ${shapeToString(data)}`)
  s.forEach((d, i) => {
    if (typeof d === 'number' && typeof data[i] === 'number' && (data[i] as number) % d)
      return c.fail(`data dim ${i} (${data[i]}) is not divisible by ${p} dim ${d}`)
  })
}

export const constexpr_blockwise_shift_scale = defineOp({
  type: 'constexpr_blockwise_shift_scale',
  since: 'ios18',
  constexpr: true,
  domains: {
    S: ['int4', 'uint4', 'int8', 'uint8', 'fp16', 'fp32'],
    D: ['fp16', 'fp32'],
    O: ['int4', 'uint4', 'int8', 'uint8', 'fp16', 'fp32'],
  },
  inputs: {
    data: { domain: 'S', const: true },
    scale: { domain: 'D', const: true },
    offset: { domain: 'O', const: true, optional: true },
  },
  infer: (c) => {
    const data = c.shape('data')
    blockScaleShape(c, data, 'scale')
    if (c.has('offset') && c.shape('offset').join() !== c.shape('scale').join())
      return c.fail(
        `offset ${shapeToString(c.shape('offset'))} must have the shape of scale ${shapeToString(c.shape('scale'))}`,
      )
    return [tensor(c.dtype('scale'), data)]
  },
})

export const constexpr_affine_dequantize = defineOp({
  type: 'constexpr_affine_dequantize',
  since: 'ios16',
  constexpr: true,
  attributeStyle: true,
  domains: {
    S: ['uint8', 'int8'],
    Z: ['uint8', 'int8', 'fp32'],
    D: ['fp16', 'fp32'],
    A: ['int32'],
  },
  inputs: {
    quantized_data: { domain: 'S', const: true },
    zero_point: { domain: 'Z', const: true },
    scale: { domain: 'D', const: true },
    axis: { domain: 'A', const: true },
  },
  infer: (c) => {
    const q = c.shape('quantized_data')
    const axis = c.axis(c.scalar('axis'), q.length)
    for (const p of ['zero_point', 'scale']) {
      const s = c.shape(p)
      if (s.length > 1 || (s.length === 1 && s[0] !== q[axis] && s[0] !== 1))
        return c.fail(`${p} ${shapeToString(s)} must be a scalar or have ${q[axis]} entries`)
    }
    return [tensor(c.dtype('scale'), q)]
  },
})

export const constexpr_sparse_to_dense = defineOp({
  type: 'constexpr_sparse_to_dense',
  since: 'ios18',
  constexpr: true,
  domains: { T: ['int4', 'uint4', 'int8', 'uint8', 'fp16', 'fp32'], M: ['uint1'] },
  inputs: { nonzero_data: { domain: 'T', const: true }, mask: { domain: 'M', const: true } },
  infer: (c) => [tensor(c.dtype('nonzero_data'), c.shape('mask'))],
})

export const constexpr_cast = defineOp({
  type: 'constexpr_cast',
  since: 'ios16',
  constexpr: true,
  attributeStyle: true,
  domains: { T: ['fp16'], S: ['string'] },
  inputs: { source_val: { domain: 'T', const: true }, output_dtype: { domain: 'S', const: true } },
  infer: (c) => {
    const dt = c.string('output_dtype')
    if (dt !== 'fp32') return c.fail(`output_dtype must be 'fp32', got '${dt}'`)
    return [tensor(dt as DType, c.shape('source_val'))]
  },
})
