// Elementwise binary and unary ops and activations (format doc §6.5, §6.6).
import { defineOp, type InferCtx } from '../op-spec.js'
import { tensor } from '../types.js'

const FLOAT = ['fp16', 'fp32'] as const
const NUMERIC = ['fp16', 'fp32', 'int32'] as const

const sameAsX = (c: InferCtx) => [c.tensor('x')]

function binary<const T extends string>(type: T) {
  return defineOp({
    type,
    since: 'ios15',
    domains: { T: NUMERIC },
    inputs: { x: { domain: 'T' }, y: { domain: 'T' } },
    infer: (c) => [tensor(c.dtype('x'), c.broadcast('x', 'y'))],
  })
}

function comparison<const T extends string>(type: T) {
  return defineOp({
    type,
    since: 'ios15',
    domains: { T: [...NUMERIC, 'bool'] },
    inputs: { x: { domain: 'T' }, y: { domain: 'T' } },
    infer: (c) => [tensor('bool', c.broadcast('x', 'y'))],
  })
}

function unary<const T extends string>(
  type: T,
  domain: readonly ('fp16' | 'fp32' | 'int32')[] = FLOAT,
) {
  return defineOp({
    type,
    since: 'ios15',
    domains: { T: domain },
    inputs: { x: { domain: 'T' } },
    infer: sameAsX,
  })
}

export const add = binary('add')
export const sub = binary('sub')
export const mul = binary('mul')
export const real_div = binary('real_div')
export const floor_div = binary('floor_div')
export const mod = binary('mod')
export const maximum = binary('maximum')
export const minimum = binary('minimum')
export const pow = binary('pow')

export const equal = comparison('equal')
export const not_equal = comparison('not_equal')
export const less = comparison('less')
export const less_equal = comparison('less_equal')
export const greater = comparison('greater')
export const greater_equal = comparison('greater_equal')

export const sqrt = unary('sqrt')
export const exp = unary('exp')
export const tanh = unary('tanh')
export const sigmoid = unary('sigmoid')
export const silu = unary('silu')
export const relu = unary('relu')
export const erf = unary('erf')
export const sin = unary('sin')
export const cos = unary('cos')
export const square = unary('square', NUMERIC)
export const abs = unary('abs', NUMERIC)
export const sign = unary('sign', NUMERIC)
export const ceil = unary('ceil')
export const floor = unary('floor')
export const round = unary('round')

export const identity = defineOp({
  type: 'identity',
  since: 'ios15',
  domains: { T: ['fp16', 'fp32', 'int32', 'bool'] },
  inputs: { x: { domain: 'T' } },
  infer: sameAsX,
})

export const logical_not = defineOp({
  type: 'logical_not',
  since: 'ios15',
  domains: { T: ['bool'] },
  inputs: { x: { domain: 'T' } },
  infer: sameAsX,
})

export const rsqrt = defineOp({
  type: 'rsqrt',
  since: 'ios17',
  domains: { T: FLOAT, U: FLOAT },
  inputs: {
    x: { domain: 'T' },
    epsilon: { domain: 'U', const: true, optional: true, default: () => 1e-12 },
  },
  infer: sameAsX,
})

export const log = defineOp({
  type: 'log',
  since: 'ios17',
  domains: { T: FLOAT, U: FLOAT },
  inputs: {
    x: { domain: 'T' },
    epsilon: { domain: 'U', const: true, optional: true, default: () => 1e-45 },
  },
  infer: sameAsX,
})

export const inverse = defineOp({
  type: 'inverse',
  since: 'ios17',
  domains: { T: FLOAT, U: FLOAT },
  inputs: {
    x: { domain: 'T' },
    epsilon: { domain: 'U', const: true, optional: true, default: () => 1e-4 },
  },
  infer: sameAsX,
})

const GELU_MODES = ['EXACT', 'TANH_APPROXIMATION', 'SIGMOID_APPROXIMATION']
export const gelu = defineOp({
  type: 'gelu',
  since: 'ios15',
  domains: { T: FLOAT, S: ['string'] },
  inputs: {
    x: { domain: 'T' },
    mode: { domain: 'S', const: true, optional: true, default: () => 'EXACT' },
  },
  infer: (c) => {
    const mode = c.string('mode', 'EXACT')
    if (!GELU_MODES.includes(mode))
      return c.fail(`mode '${mode}' is not one of ${GELU_MODES.join(', ')}`)
    return [c.tensor('x')]
  },
})

export const softmax = defineOp({
  type: 'softmax',
  since: 'ios15',
  domains: { T: FLOAT, I: ['int32'] },
  inputs: {
    x: { domain: 'T' },
    axis: { domain: 'I', const: true, optional: true, default: () => -1 },
  },
  infer: (c) => {
    c.axis(c.scalar('axis', -1), c.rank('x'))
    return [c.tensor('x')]
  },
})

export const clip = defineOp({
  type: 'clip',
  since: 'ios17',
  domains: { T: FLOAT },
  inputs: {
    x: { domain: 'T' },
    alpha: { domain: 'T', const: true },
    beta: { domain: 'T', const: true },
  },
  infer: sameAsX,
})

export const select = defineOp({
  type: 'select',
  since: 'ios15',
  domains: { B: ['bool'], T: ['fp16', 'fp32', 'int32', 'bool'] },
  inputs: { cond: { domain: 'B' }, a: { domain: 'T' }, b: { domain: 'T' } },
  infer: (c) => {
    const ab = c.broadcast('a', 'b')
    const t = tensor(c.dtype('a'), ab)
    // coremltools infers from a and b only; cond must broadcast to that shape.
    c.broadcast('cond', 'a')
    return [t]
  },
})
