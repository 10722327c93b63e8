// Slicing, gathering and top-k (format doc §6.12–§6.14, §6.19, §6.20, §6.28).
import { defineOp, type InferCtx } from '../op-spec.js'
import { shapeToString, tensor, type Dim, type DType } from '../types.js'

const ANY = ['fp16', 'fp32', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'bool'] as const
const INDEX = ['int8', 'int16', 'int32'] as const
const GATHER_X = ['fp16', 'fp32', 'int32', 'int16', 'uint16', 'int8', 'uint8'] as const
const GATHER_I = ['int32', 'int16', 'uint16', 'int8', 'uint8'] as const

const falses = (c: InferCtx) => new Array<boolean>(c.rank('x')).fill(false)
const ones = (c: InferCtx) => new Array<number>(c.rank('x')).fill(1)

const sliceInputs = {
  x: { domain: 'T' },
  begin: { domain: 'U' },
  end: { domain: 'U' },
  stride: { domain: 'U', const: true, optional: true, default: ones },
  begin_mask: { domain: 'B', const: true, optional: true, default: falses },
  end_mask: { domain: 'B', const: true, optional: true, default: falses },
  squeeze_mask: { domain: 'B', const: true, optional: true, default: falses },
} as const

/** Python slicing x[b:e:s] per axis; returns the selected shape (squeezed axes removed). */
function sliceShape(c: InferCtx): Dim[] {
  const x = c.shape('x')
  const r = x.length
  for (const p of ['begin', 'end']) {
    if (c.shape(p).join() !== String(r))
      return c.fail(`${p} ${shapeToString(c.shape(p))} must have ${r} entries (rank of x)`)
  }
  const begin = c.value('begin')
  const end = c.value('end')
  const stride = c.value('stride') ?? new Array<number>(r).fill(1)
  const bm = c.value('begin_mask') ?? new Array<number>(r).fill(0)
  const em = c.value('end_mask') ?? new Array<number>(r).fill(0)
  const sm = c.value('squeeze_mask') ?? new Array<number>(r).fill(0)
  const out: Dim[] = []
  for (let i = 0; i < r; i++) {
    if (sm[i]) continue
    const d = x[i]
    const s = stride[i]
    if (s === 0) return c.fail(`stride of axis ${i} is 0`)
    if (bm[i] && em[i]) {
      out.push(typeof d === 'number' ? Math.ceil(d / Math.abs(s)) : d)
      continue
    }
    if (typeof d !== 'number' || (!bm[i] && !begin) || (!em[i] && !end)) {
      out.push(`${c.opName}_d${i}`)
      continue
    }
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi)
    const norm = (v: number) => (v < 0 ? v + d : v)
    let b: number
    let e: number
    if (s > 0) {
      b = bm[i] ? 0 : clamp(norm(begin![i]), 0, d)
      e = em[i] ? d : clamp(norm(end![i]), 0, d)
      out.push(Math.max(0, Math.ceil((e - b) / s)))
    } else {
      b = bm[i] ? d - 1 : clamp(norm(begin![i]), -1, d - 1)
      e = em[i] ? -1 : clamp(norm(end![i]), -1, d - 1)
      out.push(Math.max(0, Math.ceil((b - e) / -s)))
    }
  }
  return out
}

export const slice_by_index = defineOp({
  type: 'slice_by_index',
  since: 'ios17',
  domains: { T: ANY, U: INDEX, B: ['bool'] },
  inputs: sliceInputs,
  infer: (c) => [tensor(c.dtype('x'), sliceShape(c))],
})

export const slice_update = defineOp({
  type: 'slice_update',
  since: 'ios18',
  domains: { T: ANY, U: INDEX, B: ['bool'] },
  inputs: { ...sliceInputs, update: { domain: 'T' } },
  infer: (c) => {
    const want = sliceShape(c)
    const got = c.shape('update')
    const clash =
      want.length !== got.length ||
      want.some((d, i) => typeof d === 'number' && typeof got[i] === 'number' && d !== got[i])
    if (clash)
      return c.fail(
        `update ${shapeToString(got)} does not match the selected slice ${shapeToString(want)} of x ${shapeToString(c.shape('x'))}`,
      )
    return [c.tensor('x')]
  },
})

export const slice_by_size = defineOp({
  type: 'slice_by_size',
  since: 'ios17',
  domains: { T: ANY, U: INDEX },
  inputs: { x: { domain: 'T' }, begin: { domain: 'U' }, size: { domain: 'U' } },
  infer: (c) => {
    const x = c.shape('x')
    const size = c.value('size')
    if (c.shape('size').join() !== String(x.length))
      return c.fail(`size must have ${x.length} entries (rank of x)`)
    if (!size)
      return [
        tensor(
          c.dtype('x'),
          x.map((_, i) => `${c.opName}_d${i}`),
        ),
      ]
    const begin = c.value('begin')
    const out = size.map((s, i): Dim => {
      const d = x[i]
      if (s !== -1) {
        if (typeof d === 'number' && s > d)
          return c.fail(`size ${s} exceeds dim ${i} of x ${shapeToString(x)}`)
        return s
      }
      if (!begin || typeof d !== 'number') return `${c.opName}_d${i}`
      return d - (begin[i] < 0 ? begin[i] + d : begin[i])
    })
    return [tensor(c.dtype('x'), out)]
  },
})

export const gather = defineOp({
  type: 'gather',
  since: 'ios17',
  domains: { T: GATHER_X, I: GATHER_I, A: ['int32'], B: ['bool'] },
  inputs: {
    x: { domain: 'T' },
    indices: { domain: 'I' },
    axis: { domain: 'A', const: true, optional: true, default: () => 0 },
    batch_dims: { domain: 'A', const: true, optional: true, default: () => 0 },
    validate_indices: { domain: 'B', const: true, optional: true, default: () => false },
  },
  infer: (c) => {
    const x = c.shape('x')
    const idx = c.shape('indices')
    const axis = c.axis(c.scalar('axis', 0), x.length)
    const bd = c.scalar('batch_dims', 0)
    if (bd < 0 || bd > axis || bd > idx.length)
      return c.fail(`batch_dims ${bd} must be in [0, min(axis, rank(indices))]`)
    return [tensor(c.dtype('x'), [...x.slice(0, axis), ...idx.slice(bd), ...x.slice(axis + 1)])]
  },
})

export const gather_along_axis = defineOp({
  type: 'gather_along_axis',
  since: 'ios17',
  domains: { T: GATHER_X, I: GATHER_I, A: ['int32'], B: ['bool'] },
  inputs: {
    x: { domain: 'T' },
    indices: { domain: 'I' },
    axis: { domain: 'A', const: true, optional: true, default: () => 0 },
    validate_indices: { domain: 'B', const: true, optional: true, default: () => false },
  },
  infer: (c) => {
    const x = c.shape('x')
    const idx = c.shape('indices')
    const axis = c.axis(c.scalar('axis', 0), x.length)
    if (idx.length !== x.length)
      return c.fail(`indices ${shapeToString(idx)} must have the rank of x ${shapeToString(x)}`)
    idx.forEach((d, i) => {
      if (i !== axis && d !== x[i])
        return c.fail(
          `indices ${shapeToString(idx)} must match x ${shapeToString(x)} except on axis ${axis}`,
        )
    })
    return [tensor(c.dtype('x'), idx)]
  },
})

export const topk = defineOp({
  type: 'topk',
  since: 'ios17',
  multiOutput: true,
  domains: {
    T: ['fp16', 'fp32', 'int8', 'int16', 'int32', 'uint8', 'uint16'],
    K: INDEX,
    A: ['int32'],
    B: ['bool'],
    S: ['string'],
  },
  inputs: {
    x: { domain: 'T' },
    k: { domain: 'K', const: true, optional: true, default: () => 1 },
    axis: { domain: 'A', const: true, optional: true, default: () => -1 },
    ascending: { domain: 'B', const: true, optional: true, default: () => false },
    sort: { domain: 'B', const: true, optional: true, default: () => true },
    return_indices: { domain: 'B', const: true, optional: true, default: () => true },
    output_indices_dtype: { domain: 'S', const: true, optional: true, default: () => 'int32' },
  },
  infer: (c) => {
    const x = c.shape('x')
    const axis = c.axis(c.scalar('axis', -1), x.length)
    let k = c.scalar('k', 1)
    const d = x[axis]
    if (k === -1) k = typeof d === 'number' ? d : NaN
    if (typeof d === 'number' && (k < 1 || k > d))
      return c.fail(`k ${k} must be in [1, ${d}] for x ${shapeToString(x)}`)
    const shape = x.map((s, i) => (i === axis ? k : s))
    const idt = c.string('output_indices_dtype', 'int32')
    if (idt !== 'int32' && idt !== 'uint16')
      return c.fail(`output_indices_dtype must be int32 or uint16`)
    const values = tensor(c.dtype('x'), shape)
    return c.bool('return_indices', true) ? [values, tensor(idt as DType, shape)] : [values]
  },
})
