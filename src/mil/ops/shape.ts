// Shape ops: reshape, transpose, expand_dims, squeeze, concat, stack, split, tile, fill, band_part, cast
// (format doc §6.10, §6.11, §6.15–§6.18, §6.21, §6.25–§6.27).
import { defineOp, type InferCtx } from '../op-spec.js'
import { tensorTypeOf } from '../program.js'
import {
  isStatic,
  numel,
  shapeToString,
  tensor,
  type Dim,
  type DType,
  type TensorType,
} from '../types.js'

const ANY = ['fp16', 'fp32', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'bool'] as const
const BASIC = ['fp16', 'fp32', 'int32', 'bool'] as const
const INDEX = ['int8', 'int16', 'int32'] as const

export const reshape = defineOp({
  type: 'reshape',
  since: 'ios17',
  domains: { T: ANY, U: INDEX },
  inputs: { x: { domain: 'T' }, shape: { domain: 'U' } },
  infer: (c) => {
    const x = c.shape('x')
    const spec = c.value('shape')
    if (!spec) {
      const len = c.shape('shape')[0]
      if (typeof len !== 'number') return c.fail('shape must have a static length')
      return [
        tensor(
          c.dtype('x'),
          Array.from({ length: len }, (_, i): Dim => `${c.opName}_d${i}`),
        ),
      ]
    }
    // 0 copies the dim of x counted from the right (iOS17).
    const out: Dim[] = spec.map((d, i) => (d === 0 ? (x[x.length - spec.length + i] ?? 1) : d))
    const neg = out.filter((d) => d === -1).length
    if (neg > 1) return c.fail(`shape ${shapeToString(spec)} has more than one -1`)
    const known = out.filter((d) => d !== -1)
    if (!isStatic(x) || !isStatic(known)) return [tensor(c.dtype('x'), out)]
    const total = numel(x)
    const prod = numel(known)
    if (neg) {
      if (prod === 0 || total % prod)
        return c.fail(`cannot reshape ${shapeToString(x)} into ${shapeToString(spec)}`)
      out[out.indexOf(-1)] = total / prod
    } else if (prod !== total) {
      c.fail(
        `cannot reshape ${shapeToString(x)} (${total} elements) into ${shapeToString(spec)} (${prod})`,
      )
    }
    return [tensor(c.dtype('x'), out)]
  },
})

export const transpose = defineOp({
  type: 'transpose',
  since: 'ios17',
  domains: { T: ANY, I: ['int32'] },
  inputs: { x: { domain: 'T' }, perm: { domain: 'I', const: true } },
  infer: (c) => {
    const x = c.shape('x')
    const perm = c.constValue('perm').map((p) => c.axis(p, x.length, 'perm entry'))
    if (perm.length !== x.length || new Set(perm).size !== perm.length)
      return c.fail(`perm ${shapeToString(perm)} is not a permutation of rank ${x.length}`)
    return [
      tensor(
        c.dtype('x'),
        perm.map((p) => x[p]),
      ),
    ]
  },
})

export const expand_dims = defineOp({
  type: 'expand_dims',
  since: 'ios17',
  domains: { T: ANY, I: ['int32'] },
  inputs: { x: { domain: 'T' }, axes: { domain: 'I', const: true } },
  infer: (c) => {
    const x = c.shape('x')
    const axes = c.constValue('axes')
    const r = x.length + axes.length
    const norm = axes.map((a) => c.axis(a, r, 'axes entry')).sort((a, b) => a - b)
    if (new Set(norm).size !== norm.length)
      return c.fail(`axes ${shapeToString(axes)} repeat an axis`)
    const out: Dim[] = [...x]
    for (const a of norm) out.splice(a, 0, 1)
    return [tensor(c.dtype('x'), out)]
  },
})

export const squeeze = defineOp({
  type: 'squeeze',
  since: 'ios17',
  domains: { T: ANY, I: ['int32'] },
  inputs: { x: { domain: 'T' }, axes: { domain: 'I', const: true, optional: true } },
  infer: (c) => {
    const x = c.shape('x')
    const axes = c.has('axes')
      ? new Set(c.constValue('axes').map((a) => c.axis(a, x.length)))
      : undefined
    // Listed axes whose size is not 1 are kept, as PyTorch does.
    return [
      tensor(
        c.dtype('x'),
        x.filter((d, i) => !(d === 1 && (!axes || axes.has(i)))),
      ),
    ]
  },
})

export const concat = defineOp({
  type: 'concat',
  since: 'ios15',
  domains: { T: BASIC, I: ['int32'], B: ['bool'] },
  inputs: {
    values: { domain: 'T', variadic: true },
    axis: { domain: 'I', const: true },
    interleave: { domain: 'B', const: true, optional: true, default: () => false },
  },
  infer: (c: InferCtx) => {
    const types = c.vars('values').map((v, i): TensorType => {
      if (v.type.kind !== 'tensor') return c.fail(`values[${i}] is not a tensor`)
      return v.type as TensorType
    })
    const shapes = types.map((t) => t.shape)
    if (shapes.length === 0) return c.fail('values is empty')
    const r = shapes[0].length
    const axis = c.axis(c.scalar('axis'), r)
    const out: Dim[] = [...shapes[0]]
    let total: Dim = 0
    shapes.forEach((s: readonly Dim[], i: number) => {
      if (s.length !== r)
        return c.fail(`values[${i}] ${shapeToString(s)} has rank ${s.length}, values[0] has ${r}`)
      s.forEach((d: Dim, j: number) => {
        if (
          j !== axis &&
          d !== shapes[0][j] &&
          typeof d === 'number' &&
          typeof shapes[0][j] === 'number'
        )
          return c.fail(
            `values[${i}] ${shapeToString(s)} differs from values[0] ${shapeToString(shapes[0])} outside axis ${axis}`,
          )
      })
      const d = s[axis]
      total = typeof total === 'number' && typeof d === 'number' ? total + d : `${c.opName}_axis`
    })
    out[axis] = total
    return [tensor(types[0].dtype, out)]
  },
})

/** stack(values, axis): equal-shaped tensors joined along a new axis. */
export const stack = defineOp({
  type: 'stack',
  since: 'ios15',
  domains: { T: BASIC, I: ['int32'] },
  inputs: { values: { domain: 'T', variadic: true }, axis: { domain: 'I', const: true } },
  infer: (c: InferCtx) => {
    const shapes = c.vars('values').map((v, i) => {
      if (v.type.kind !== 'tensor') return c.fail(`values[${i}] is not a tensor`)
      return v.type.shape
    })
    if (shapes.length === 0) return c.fail('values is empty')
    shapes.forEach((s, i) => {
      const clash = s.some(
        (d, j) => typeof d === 'number' && typeof shapes[0][j] === 'number' && d !== shapes[0][j],
      )
      if (s.length !== shapes[0].length || clash)
        c.fail(
          `values[${i}] ${shapeToString(s)} differs from values[0] ${shapeToString(shapes[0])}`,
        )
    })
    const out: Dim[] = [...shapes[0]]
    out.splice(c.axis(c.scalar('axis'), out.length + 1), 0, shapes.length)
    return [tensor(tensorTypeOf(c.vars('values')[0]).dtype, out)]
  },
})

export const split = defineOp({
  type: 'split',
  since: 'ios15',
  domains: { T: BASIC, I: ['int32'] },
  multiOutput: true,
  inputs: {
    x: { domain: 'T' },
    num_splits: { domain: 'I', const: true, optional: true },
    split_sizes: { domain: 'I', const: true, optional: true },
    axis: { domain: 'I', const: true },
  },
  infer: (c: InferCtx) => {
    const x = c.shape('x')
    const axis = c.axis(c.scalar('axis'), x.length)
    const dim = x[axis]
    let sizes: number[]
    if (c.has('split_sizes')) sizes = c.constValue('split_sizes')
    else if (c.has('num_splits')) {
      const n = c.scalar('num_splits')
      if (typeof dim !== 'number' || dim % n)
        return c.fail(`dim ${dim} of x ${shapeToString(x)} is not divisible into ${n} splits`)
      sizes = new Array<number>(n).fill(dim / n)
    } else return c.fail('needs num_splits or split_sizes')
    if (typeof dim === 'number' && sizes.reduce((a, b) => a + b, 0) !== dim)
      return c.fail(
        `split_sizes ${shapeToString(sizes)} do not sum to dim ${dim} of x ${shapeToString(x)}`,
      )
    return sizes.map((s) =>
      tensor(
        c.dtype('x'),
        x.map((d, i) => (i === axis ? s : d)),
      ),
    )
  },
})

export const tile = defineOp({
  type: 'tile',
  since: 'ios15',
  domains: { T: BASIC, I: ['int32'] },
  inputs: { x: { domain: 'T' }, reps: { domain: 'I' } },
  infer: (c) => {
    const x = c.shape('x')
    const reps = c.value('reps')
    if (reps && reps.length !== x.length)
      return c.fail(
        `reps ${shapeToString(reps)} must have one entry per dim of x ${shapeToString(x)}`,
      )
    return [
      tensor(
        c.dtype('x'),
        x.map((d, i) => (reps && typeof d === 'number' ? d * reps[i] : `${c.opName}_d${i}`)),
      ),
    ]
  },
})

export const fill = defineOp({
  type: 'fill',
  since: 'ios15',
  domains: { I: ['int32'], T: BASIC },
  inputs: {
    shape: { domain: 'I' },
    value: { domain: 'T', const: true, optional: true, default: () => 0 },
  },
  infer: (c) => {
    const dt = c.has('value') ? c.dtype('value') : 'fp32'
    const s = c.value('shape')
    if (s) return [tensor(dt, s)]
    const len = c.shape('shape')[0]
    if (typeof len !== 'number') return c.fail('shape must have a static length')
    return [
      tensor(
        dt,
        Array.from({ length: len }, (_, i): Dim => `${c.opName}_d${i}`),
      ),
    ]
  },
})

export const band_part = defineOp({
  type: 'band_part',
  since: 'ios15',
  domains: { T: BASIC, I: ['int32'] },
  inputs: {
    x: { domain: 'T' },
    lower: { domain: 'I', const: true, optional: true, default: () => -1 },
    upper: { domain: 'I', const: true, optional: true, default: () => -1 },
  },
  infer: (c) => {
    if (c.rank('x') < 2) return c.fail(`x must have rank >= 2, got ${shapeToString(c.shape('x'))}`)
    return [c.tensor('x')]
  },
})

const CAST_TO = ['fp16', 'fp32', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'bool']
export const cast = defineOp({
  type: 'cast',
  since: 'ios17',
  domains: { T: ANY, S: ['string'] },
  inputs: { x: { domain: 'T' }, dtype: { domain: 'S', const: true } },
  infer: (c) => {
    const dt = c.string('dtype')
    if (!CAST_TO.includes(dt)) return c.fail(`dtype '${dt}' is not one of ${CAST_TO.join(', ')}`)
    return [tensor(dt as DType, c.shape('x'))]
  },
})
