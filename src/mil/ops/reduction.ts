// Reductions and layer_norm (format doc §6.7–§6.9).
import { defineOp, type InferCtx } from '../op-spec.js'
import { shapeToString, tensor, type Dim, type DType } from '../types.js'

const reduceShape = (c: InferCtx, axes: number[], keep: boolean): Dim[] => {
  const x = c.shape('x')
  const norm = new Set(axes.map((a) => c.axis(a, x.length, 'axes entry')))
  return x.flatMap((d, i) => (norm.has(i) ? (keep ? [1] : []) : [d]))
}

function reduce<const T extends string>(type: T) {
  return defineOp({
    type,
    since: 'ios15',
    domains: { T: ['fp16', 'fp32', 'int32'], I: ['int32'], B: ['bool'] },
    inputs: {
      x: { domain: 'T' },
      axes: { domain: 'I', const: true, optional: true },
      keep_dims: { domain: 'B', const: true, optional: true, default: () => false },
    },
    infer: (c) => {
      const axes = c.has('axes') ? c.constValue('axes') : c.shape('x').map((_, i) => i)
      return [tensor(c.dtype('x'), reduceShape(c, axes, c.bool('keep_dims', false)))]
    },
  })
}

export const reduce_mean = reduce('reduce_mean')
export const reduce_sum = reduce('reduce_sum')
export const reduce_max = reduce('reduce_max')
export const reduce_min = reduce('reduce_min')

export const reduce_argmax = defineOp({
  type: 'reduce_argmax',
  since: 'ios17',
  domains: { T: ['fp16', 'fp32', 'int32'], I: ['int32'], B: ['bool'], S: ['string'] },
  inputs: {
    x: { domain: 'T' },
    axis: { domain: 'I', const: true, optional: true, default: () => -1 },
    keep_dims: { domain: 'B', const: true, optional: true, default: () => false },
    output_dtype: { domain: 'S', const: true, optional: true, default: () => 'int32' },
  },
  infer: (c) => {
    const dt = c.string('output_dtype', 'int32')
    if (dt !== 'int32' && dt !== 'uint16')
      return c.fail(`output_dtype must be int32 or uint16, got '${dt}'`)
    return [tensor(dt as DType, reduceShape(c, [c.scalar('axis', -1)], c.bool('keep_dims', false)))]
  },
})

export const layer_norm = defineOp({
  type: 'layer_norm',
  since: 'ios17',
  domains: { T: ['fp16', 'fp32'], U: ['fp16', 'fp32'], I: ['int32'] },
  inputs: {
    x: { domain: 'T' },
    axes: { domain: 'I', const: true, optional: true },
    gamma: { domain: 'U', const: true, optional: true },
    beta: { domain: 'U', const: true, optional: true },
    epsilon: { domain: 'U', const: true, optional: true, default: () => 1e-5 },
  },
  infer: (c) => {
    const x = c.shape('x')
    const axes = (c.has('axes') ? c.constValue('axes') : x.map((_, i) => i)).map((a) =>
      c.axis(a, x.length, 'axes entry'),
    )
    const normShape = axes.map((a) => x[a])
    for (const p of ['gamma', 'beta']) {
      if (c.has(p) && c.shape(p).join() !== normShape.join())
        return c.fail(
          `${p} ${shapeToString(c.shape(p))} must have the normalized shape ${shapeToString(normShape)}`,
        )
    }
    return [c.tensor('x')]
  },
})
