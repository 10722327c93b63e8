// Execution order of a function's ops: data dependencies, plus program order among the state
// ops of one state (a read after a write must see it, though no var connects them). Among ready
// ops the earliest in the program goes first, so a well-formed program keeps its order.
import { FormatError } from '../util/errors.js'
import type { MilFunction, Operation, Var } from '../mil/program.js'

const STATE_PARAMS = ['input', 'state']

function stateOf(op: Operation): Var | undefined {
  for (const p of STATE_PARAMS) {
    const v = op.inputs[p]
    if (v && !Array.isArray(v) && (v as Var).type.kind === 'state') return v as Var
  }
  return undefined
}

export function topoOrder(fn: MilFunction): Operation[] {
  const ops = fn.block.operations
  const index = new Map<Operation, number>(ops.map((op, i) => [op, i]))
  const deps = ops.map(() => new Set<number>())
  const lastStateOp = new Map<Var, number>()
  ops.forEach((op, i) => {
    for (const v of Object.values(op.inputs).flat() as Var[]) {
      const p = v.producer && index.get(v.producer)
      if (p !== undefined) deps[i].add(p)
    }
    const s = stateOf(op)
    if (s) {
      const prev = lastStateOp.get(s)
      if (prev !== undefined) deps[i].add(prev)
      lastStateOp.set(s, i)
    }
  })
  const users = ops.map(() => [] as number[])
  const pending = deps.map((d, i) => {
    for (const p of d) users[p].push(i)
    return d.size
  })
  // min-heap of ready op indices
  const heap: number[] = []
  const push = (x: number) => {
    heap.push(x)
    for (let i = heap.length - 1; i > 0;) {
      const p = (i - 1) >> 1
      if (heap[p] <= heap[i]) break
      ;[heap[p], heap[i]] = [heap[i], heap[p]]
      i = p
    }
  }
  const pop = () => {
    const top = heap[0]
    const last = heap.pop()!
    if (heap.length) {
      heap[0] = last
      for (let i = 0; ;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && heap[l] < heap[m]) m = l
        if (r < heap.length && heap[r] < heap[m]) m = r
        if (m === i) break
        ;[heap[m], heap[i]] = [heap[i], heap[m]]
        i = m
      }
    }
    return top
  }
  pending.forEach((n, i) => n === 0 && push(i))
  const order: Operation[] = []
  while (heap.length) {
    const i = pop()
    order.push(ops[i])
    for (const u of users[i]) if (--pending[u] === 0) push(u)
  }
  if (order.length !== ops.length)
    throw new FormatError(fn.name, 'the ops of this function form a cycle')
  return order
}
