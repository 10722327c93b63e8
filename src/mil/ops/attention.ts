// scaled_dot_product_attention (format doc §6.29, iOS18).
import { defineOp } from '../op-spec.js'
import { shapeToString, tensor } from '../types.js'

export const scaled_dot_product_attention = defineOp({
  type: 'scaled_dot_product_attention',
  since: 'ios18',
  domains: { T: ['fp16', 'fp32'], M: ['bool', 'fp16', 'fp32'] },
  inputs: {
    query: { domain: 'T' },
    key: { domain: 'T' },
    value: { domain: 'T' },
    attn_mask: { domain: 'M', optional: true },
  },
  infer: (c) => {
    const q = c.shape('query')
    const k = c.shape('key')
    const v = c.shape('value')
    if (q.length < 3 || k.length !== q.length || v.length !== q.length)
      return c.fail(
        `query ${shapeToString(q)}, key ${shapeToString(k)}, value ${shapeToString(v)} need one rank >= 3`,
      )
    const r = q.length
    if (q[r - 1] !== k[r - 1])
      return c.fail(`query ${shapeToString(q)} and key ${shapeToString(k)} differ in the last dim`)
    if (k[r - 2] !== v[r - 2])
      return c.fail(`key ${shapeToString(k)} and value ${shapeToString(v)} differ in length`)
    if (c.has('attn_mask') && c.shape('attn_mask').at(-1) !== k[r - 2])
      return c.fail(
        `attn_mask ${shapeToString(c.shape('attn_mask'))} must end in the key length ${k[r - 2]}`,
      )
    return [tensor(c.dtype('query'), [...q.slice(0, -1), v[r - 1]])]
  },
})
