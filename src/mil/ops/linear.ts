// conv, linear, matmul (format doc §6.2–§6.4; iOS17 definitions: weights may differ in float dtype).
import { defineOp, type InferCtx } from '../op-spec.js'
import { shapeToString, tensor, type Dim } from '../types.js'

const FLOAT = ['fp16', 'fp32'] as const
const spatial = (c: InferCtx) => c.rank('x') - 2
const ones = (c: InferCtx) => new Array<number>(Math.max(spatial(c), 0)).fill(1)
const PAD_TYPES = ['valid', 'custom', 'same', 'same_lower']

export const conv = defineOp({
  type: 'conv',
  since: 'ios17',
  domains: { T: FLOAT, U: FLOAT, I: ['int32'], S: ['string'] },
  inputs: {
    x: { domain: 'T' },
    weight: { domain: 'U' },
    bias: { domain: 'U', optional: true },
    strides: { domain: 'I', const: true, optional: true, default: ones },
    pad_type: { domain: 'S', const: true, optional: true, default: () => 'valid' },
    pad: {
      domain: 'I',
      const: true,
      optional: true,
      default: (c) => new Array<number>(2 * spatial(c)).fill(0),
    },
    dilations: { domain: 'I', const: true, optional: true, default: ones },
    groups: { domain: 'I', const: true, optional: true, default: () => 1 },
  },
  infer: (c) => {
    const x = c.shape('x')
    const w = c.shape('weight')
    const s = x.length - 2
    if (s < 1 || s > 3)
      return c.fail(`x must have rank 3 to 5 ([N, C, *spatial]), got ${shapeToString(x)}`)
    if (w.length !== x.length)
      return c.fail(`weight ${shapeToString(w)} must have the rank of x ${shapeToString(x)}`)
    const groups = c.scalar('groups', 1)
    const cin = x[1]
    if (typeof cin === 'number') {
      if (cin % groups) return c.fail(`input channels ${cin} are not divisible by groups ${groups}`)
      if (w[1] !== cin / groups)
        return c.fail(
          `weight ${shapeToString(w)} expects ${w[1]} input channels per group, x ${shapeToString(x)} has ${cin} / groups ${groups}`,
        )
    }
    if (c.has('bias') && c.shape('bias').join() !== String(w[0]))
      return c.fail(`bias ${shapeToString(c.shape('bias'))} must be [${w[0]}]`)
    const strides = c.value('strides') ?? new Array<number>(s).fill(1)
    const dil = c.value('dilations') ?? new Array<number>(s).fill(1)
    const pad = c.value('pad') ?? new Array<number>(2 * s).fill(0)
    const padType = c.string('pad_type', 'valid')
    if (!PAD_TYPES.includes(padType))
      return c.fail(`pad_type '${padType}' is not one of ${PAD_TYPES.join(', ')}`)
    if (strides.length !== s || dil.length !== s || pad.length !== 2 * s)
      return c.fail(`strides/dilations need ${s} values and pad ${2 * s} for ${s} spatial dims`)
    const out: Dim[] = [x[0], w[0]]
    for (let i = 0; i < s; i++) {
      const d = x[i + 2]
      const k = w[i + 2]
      if (typeof d !== 'number' || typeof k !== 'number') {
        out.push(typeof d === 'number' ? `conv_${i}` : d)
        continue
      }
      const keff = (k - 1) * dil[i] + 1
      let o: number
      if (padType === 'same' || padType === 'same_lower') o = Math.ceil(d / strides[i])
      else {
        const total = padType === 'custom' ? pad[2 * i] + pad[2 * i + 1] : 0
        o = Math.floor((d + total - keff) / strides[i]) + 1
      }
      if (o < 1) return c.fail(`kernel ${k} does not fit spatial size ${d} (x ${shapeToString(x)})`)
      out.push(o)
    }
    return [tensor(c.dtype('x'), out)]
  },
})

export const linear = defineOp({
  type: 'linear',
  since: 'ios17',
  domains: { T: ['fp16', 'fp32', 'int32'], U: ['fp16', 'fp32', 'int32'] },
  inputs: {
    x: { domain: 'T' },
    weight: { domain: 'U', const: true },
    bias: {
      domain: 'U',
      const: true,
      optional: true,
      default: (c) => new Array<number>(Number(c.shape('weight')[0])).fill(0),
    },
  },
  infer: (c) => {
    const x = c.shape('x')
    const w = c.shape('weight')
    if (w.length !== 2) return c.fail(`weight must be [D_out, D_in], got ${shapeToString(w)}`)
    if (x.length < 1) return c.fail('x must have rank >= 1')
    const din = x[x.length - 1]
    if (typeof din === 'number' && din !== w[1])
      return c.fail(
        `last dim of x ${shapeToString(x)} is ${din}, weight ${shapeToString(w)} expects ${w[1]}`,
      )
    if (c.has('bias') && c.shape('bias').join() !== String(w[0]))
      return c.fail(`bias ${shapeToString(c.shape('bias'))} must be [${w[0]}]`)
    return [tensor(c.dtype('x'), [...x.slice(0, -1), w[0]])]
  },
})

export const matmul = defineOp({
  type: 'matmul',
  since: 'ios17',
  domains: { T: ['fp16', 'fp32', 'int32'], U: ['fp16', 'fp32', 'int32'], B: ['bool'] },
  inputs: {
    x: { domain: 'T' },
    y: { domain: 'U' },
    transpose_x: { domain: 'B', const: true, optional: true, default: () => false },
    transpose_y: { domain: 'B', const: true, optional: true, default: () => false },
  },
  infer: (c) => {
    let x = [...c.shape('x')]
    let y = [...c.shape('y')]
    const tx = c.bool('transpose_x', false)
    const ty = c.bool('transpose_y', false)
    if ((tx && x.length < 2) || (ty && y.length < 2))
      return c.fail('cannot transpose a rank-1 operand')
    if (tx) x = [...x.slice(0, -2), x[x.length - 1], x[x.length - 2]]
    if (ty) y = [...y.slice(0, -2), y[y.length - 1], y[y.length - 2]]
    const x1 = x.length === 1
    const y1 = y.length === 1
    if (x1) x = [1, x[0]]
    if (y1) y = [y[0], 1]
    const k1 = x[x.length - 1]
    const k2 = y[y.length - 2]
    if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2)
      return c.fail(
        `inner dims differ: x ${shapeToString(c.shape('x'))} (K=${k1}) vs y ${shapeToString(c.shape('y'))} (K=${k2})`,
      )
    const xb = x.slice(0, -2)
    const yb = y.slice(0, -2)
    const n = Math.max(xb.length, yb.length)
    const batch: Dim[] = []
    for (let i = 0; i < n; i++) {
      const a = xb[xb.length - n + i] ?? 1
      const b = yb[yb.length - n + i] ?? 1
      if (a !== b && a !== 1 && b !== 1 && typeof a === 'number' && typeof b === 'number')
        return c.fail(
          `batch dims of x ${shapeToString(c.shape('x'))} and y ${shapeToString(c.shape('y'))} do not broadcast`,
        )
      batch.push(a === 1 ? b : a)
    }
    const out = [...batch, ...(x1 ? [] : [x[x.length - 2]]), ...(y1 ? [] : [y[y.length - 1]])]
    // With exactly one constant operand the output takes the other's dtype (iOS17).
    const xc = c.isConst('x')
    const yc = c.isConst('y')
    if (xc === yc && c.dtype('x') !== c.dtype('y'))
      return c.fail(`x is ${c.dtype('x')} but y is ${c.dtype('y')}; cast one of them`)
    return [tensor(xc && !yc ? c.dtype('y') : c.dtype('x'), out)]
  },
})
