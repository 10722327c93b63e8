// The per-step memo of Call: what its key covers (shapes, values of non-shape-only params, lists,
// absent params), what it skips (constant params), and that it never serves a stale value.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Operation } from '../mil/program.js'
import { Call } from './call.js'
import { makeTensor, type Tensor } from './tensor.js'

const op = { type: 'probe', inputs: {}, outputs: [], blocks: [] } as unknown as Operation
const f32 = (shape: number[]) => makeTensor('fp32', shape)
const i32 = (data: number[]) => makeTensor('int32', [data.length], data)

function probe(args: Record<string, Tensor | Tensor[] | undefined>) {
  const c = new Call(op, 'v', ['fp32'], {})
  c.args = args
  let made = 0
  const X = ['x']
  // the memo's value: the shape of x joined with the begin values, and a serial number
  const plan = () =>
    c.memo(X, () => `${c.in('x').shape.join('x')}|${c.opt('begin')?.data.join() ?? '-'}|${++made}`)
  return { c, plan }
}

test('memo: computed once per key, again when an input shape changes', () => {
  const { c, plan } = probe({ x: f32([2, 3]) })
  assert.equal(plan(), '2x3|-|1')
  assert.equal(plan(), '2x3|-|1')
  c.args.x = f32([2, 3]) // another tensor, same shape
  assert.equal(plan(), '2x3|-|1')
  c.args.x = f32([3, 2]) // same element count, other shape
  assert.equal(plan(), '3x2|-|2')
  c.args.x = f32([1, 3, 2]) // other rank
  assert.equal(plan(), '1x3x2|-|3')
  c.args.x = f32([2, 3])
  assert.equal(plan(), '2x3|-|4')
})

test('memo: keyed on the values of params not listed as shape-only, not on data values', () => {
  const { c, plan } = probe({ x: f32([4]), begin: i32([0, 1]) })
  assert.equal(plan(), '4|0,1|1')
  ;(c.args.x as Tensor).data[0] = 5
  assert.equal(plan(), '4|0,1|1')
  c.args.begin = i32([0, 1])
  assert.equal(plan(), '4|0,1|1')
  c.args.begin = i32([0, 2])
  assert.equal(plan(), '4|0,2|2')
  c.args.begin = i32([0, 2, 0])
  assert.equal(plan(), '4|0,2,0|3')
  c.args.begin = undefined // an optional param left out
  assert.equal(plan(), '4|-|4')
})

test('memo: params bound to constants are not compared', () => {
  const { c, plan } = probe({ x: f32([4]), begin: i32([1]) })
  c.constParams = new Set(['begin'])
  assert.equal(plan(), '4|1|1')
  c.args.x = f32([5])
  assert.equal(plan(), '5|1|2')
  assert.equal(plan(), '5|1|2')
})

test('memo: list params key on their length and every element shape', () => {
  const c = new Call(op, 'v', ['fp32'], {})
  let made = 0
  const V = ['values']
  const plan = () => c.memo(V, () => ++made)
  c.args = { values: [f32([1, 2]), f32([1, 3])] }
  assert.equal(plan(), 1)
  c.args.values = [f32([1, 2]), f32([1, 3])]
  assert.equal(plan(), 1)
  c.args.values = [f32([1, 2]), f32([1, 4])]
  assert.equal(plan(), 2)
  c.args.values = [f32([1, 2]), f32([1, 4]), f32([1, 1])]
  assert.equal(plan(), 3)
  c.args.values = [f32([1, 2]), f32([1, 4])]
  assert.equal(plan(), 4)
})

test('memo: a throwing make memoizes nothing; a new args object or shape-only list starts over', () => {
  const { c } = probe({ x: f32([2]) })
  const X = ['x']
  assert.throws(() => c.memo(X, () => c.fail('bad shape')), /probe 'v': bad shape/)
  assert.equal(
    c.memo(X, () => 'ok'),
    'ok',
  )
  assert.equal(
    c.memo(X, () => 'stale?'),
    'ok',
  )
  c.args = { x: f32([2]) }
  assert.equal(
    c.memo(X, () => 'fresh'),
    'fresh',
  )
  assert.equal(
    c.memo(['x', 'y'], () => 'other list'),
    'other list',
  )
})

test('memo: string params key by value', () => {
  const c = new Call(op, 'v', ['fp32'], {})
  const mode = (m: string) => ({ dtype: 'string' as const, shape: [], data: [m] })
  c.args = { x: f32([2]), mode: mode('EXACT') }
  let made = 0
  const X = ['x']
  assert.equal(
    c.memo(X, () => ++made),
    1,
  )
  c.args.mode = mode('EXACT')
  assert.equal(
    c.memo(X, () => ++made),
    1,
  )
  c.args.mode = mode('TANH_APPROXIMATION')
  assert.equal(
    c.memo(X, () => ++made),
    2,
  )
})
