// Older definitions of ops that a later opset redefined; used when reading iOS16/17 programs.
import { defineOp } from '../op-spec.js'
import { tensor } from '../types.js'

const LUT = ['int8', 'uint8', 'fp16', 'fp32'] as const

/** iOS16 form: per-tensor LUT, indices packed into uint8 bytes, explicit output shape. */
export const constexpr_lut_to_dense_ios16 = defineOp({
  type: 'constexpr_lut_to_dense',
  since: 'ios16',
  constexpr: true,
  attributeStyle: true,
  domains: { U: ['uint8'], T: LUT, S: ['uint32'] },
  inputs: {
    indices: { domain: 'U', const: true },
    lut: { domain: 'T', const: true },
    shape: { domain: 'S', const: true },
  },
  infer: (c) => {
    const shape = c.constValue('shape')
    const n = shape.reduce((a, b) => a * b, 1)
    const entries = Number(c.shape('lut')[0])
    const bits = Math.log2(entries)
    if (![1, 2, 4, 6, 8].includes(bits))
      return c.fail(`lut has ${entries} entries; expected 2, 4, 16, 64 or 256`)
    if (c.shape('indices')[0] !== Math.ceil((n * bits) / 8))
      return c.fail(
        `indices has ${c.shape('indices')[0]} bytes; ${n} ${bits}-bit indices need ${Math.ceil((n * bits) / 8)}`,
      )
    return [tensor(c.dtype('lut'), shape)]
  },
})

export const constexpr_sparse_to_dense_ios16 = defineOp({
  type: 'constexpr_sparse_to_dense',
  since: 'ios16',
  constexpr: true,
  attributeStyle: true,
  domains: { T: ['int8', 'uint8', 'fp16', 'fp32'], M: ['uint8'], S: ['uint32'] },
  inputs: {
    nonzero_data: { domain: 'T', const: true },
    mask: { domain: 'M', const: true },
    shape: { domain: 'S', const: true },
  },
  infer: (c) => [tensor(c.dtype('nonzero_data'), c.constValue('shape'))],
})
