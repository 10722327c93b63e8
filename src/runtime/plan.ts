// Plans one function once: a topological order that keeps state ops in program order, dead-code
// removal, constant folding (const and constexpr values, then every pure op whose inputs are all
// constant), a slot per runtime var with the step after which it dies, and the KV-cache fast path
// (alias.ts: read_state → slice_update → write on the state's own buffer, no copies).
import { isConstProducer, type MilFunction, type Operation, type Var } from '../mil/program.js'
import { planStateAliases } from './alias.js'
import { Call } from './call.js'
import { constTensor, type ConstCache } from './consts.js'
import { fuseOps } from './fuse.js'
import { UnsupportedOpError, type Kernel } from './kernel.js'
import { kernelRow, type KernelRow } from './kernels/index.js'
import { isFloatDType, runtimeDType, type RuntimeDType, type Tensor } from './tensor.js'
import { topoOrder } from './topo.js'

export interface Step {
  readonly call: Call
  /** The op type's row of the kernel table. */
  readonly row: KernelRow
  /** Parameter → slot (an array for variadic parameters). */
  readonly args: Readonly<Record<string, number | readonly number[]>>
  /** The same as two parallel lists, for the run loop. */
  readonly params: readonly string[]
  readonly slots: readonly (number | readonly number[])[]
  /** Slot of each output var (-1 when the op has no outputs). */
  readonly outputs: readonly number[]
  /** Outputs to round to fp16 after the kernel. */
  readonly round: readonly boolean[]
  /** Slots whose last reader is this step. */
  readonly release: number[]
  /** A slice_update: x may be updated in place when it is a pool temp nobody reads after. */
  readonly mayUpdate: boolean
  /** The planner proved the KV-cache pattern: x (or the state) may be used in place. */
  plannedInPlace: boolean
}

export interface Plan {
  readonly slotCount: number
  /** Slots holding constants, filled before every run. */
  readonly consts: ReadonlyMap<number, Tensor>
  /** The same as a slot array (undefined for non-constant slots), copied to start a run. */
  readonly constVals: readonly (Tensor | undefined)[]
  readonly inputSlots: ReadonlyMap<string, number>
  readonly outputSlots: readonly (readonly [string, number])[]
  readonly steps: readonly Step[]
  /** Slot → var name, for messages and debug dumps. */
  readonly names: readonly string[]
}

const argVars = (op: Operation): Var[] => Object.values(op.inputs).flat() as Var[]
const isState = (v: Var) => v.type.kind === 'state'

function outDType(v: Var, op: Operation): RuntimeDType {
  const t = v.type.kind === 'state' ? v.type.wrapped : v.type
  if (t.kind !== 'tensor') throw new UnsupportedOpError(op.type, v.name, `produces a ${t.kind}`)
  return runtimeDType(t.dtype, `${op.type} '${v.name}'`)
}

export interface PlanOptions {
  readonly cache: ConstCache
  /** Round every float value to fp16 (consts, inputs, each op's output) as the ANE does. */
  readonly strictFp16: boolean
  /** Decode palettized weights at load instead of keeping them packed. */
  readonly denseWeights?: boolean
  /** Replace fp16 op chains by fused ops with identical results (fuse.ts); off in strict mode. */
  readonly fuse?: boolean
  /** Runs a folded op at load (the executor's post-processing included). */
  readonly fold: (call: Call, kernel: Kernel, round: boolean[]) => Tensor[]
}

export function planFunction(fn: MilFunction, opts: PlanOptions): Plan {
  const ops = topoOrder(fn)
  // Live ops: those an output depends on, and state writes.
  const needed = new Set<Var>(fn.block.outputs)
  const live: Operation[] = []
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i]
    if (kernelRow(op.type)?.state !== 'write' && !op.outputs.some((v) => needed.has(v))) continue
    live.push(op)
    for (const v of argVars(op)) needed.add(v)
  }
  live.reverse()

  const slots = new Map<Var, number>()
  const names: string[] = []
  const slotOf = (v: Var) => {
    let s = slots.get(v)
    if (s === undefined) {
      s = names.length
      slots.set(v, s)
      names.push(v.name)
    }
    return s
  }
  const consts = new Map<Var, Tensor>()
  const constOf = (v: Var): Tensor | undefined => {
    if (!isConstProducer(v.producer)) return consts.get(v)
    let t = consts.get(v)
    if (!t) consts.set(v, (t = constTensor(v, opts.cache, opts.strictFp16, !opts.denseWeights)))
    return t
  }

  const inputSlots = new Map<string, number>()
  for (const i of fn.inputs) if (!isState(i.var)) inputSlots.set(i.var.name, slotOf(i.var))

  const steps: Step[] = []
  const ops2 = opts.fuse && !opts.strictFp16 ? fuseOps(live, fn.block.outputs, constOf) : live
  for (const op of ops2) {
    if (isConstProducer(op)) continue
    const name = op.outputs[0]?.name ?? op.name
    // opaque ops (outside the op table) run when a row for them knows them
    const row = kernelRow(op.type)
    if (!row || op.blocks.length)
      throw new UnsupportedOpError(
        op.type,
        name,
        op.blocks.length ? 'control flow is not supported' : undefined,
      )
    const stateNames: Record<string, string> = {}
    for (const [p, x] of Object.entries(op.inputs))
      if (!Array.isArray(x) && isState(x as Var)) stateNames[p] = (x as Var).name
    const call = new Call(
      op,
      name,
      op.outputs.map((v) => outDType(v, op)),
      stateNames,
    )
    const round = op.outputs.map((v, i) => {
      const dt = call.outDTypes[i]
      if (opts.strictFp16) return isFloatDType(dt) && !row.view && !row.state
      return dt === 'fp16' && !row.exact
    })
    const inputs = Object.entries(op.inputs).filter(([p]) => !(p in stateNames))
    if (!row.state && inputs.every(([, x]) => [x].flat().every((v) => constOf(v as Var)))) {
      call.args = Object.fromEntries(
        inputs.map(([p, x]) => [
          p,
          Array.isArray(x) ? x.map((v) => constOf(v)!) : constOf(x as Var)!,
        ]),
      )
      opts.fold(call, row.run, round).forEach((t, i) => consts.set(op.outputs[i], t))
      continue
    }
    const args: Record<string, number | number[]> = {}
    for (const [p, x] of inputs) args[p] = Array.isArray(x) ? x.map(slotOf) : slotOf(x as Var)
    // constant params never change between runs: the kernel's memo need not compare them
    call.constParams = new Set(
      inputs.filter(([, x]) => [x].flat().every((v) => constOf(v as Var))).map(([p]) => p),
    )
    // one args object per call, rebound in place by every run (lists keep their arrays)
    call.args = Object.fromEntries(
      Object.entries(args).map(([p, a]) => [p, typeof a === 'number' ? undefined : []]),
    )
    const outputs = op.outputs.length ? op.outputs.map(slotOf) : [-1]
    steps.push({
      call,
      row,
      args,
      params: Object.keys(args),
      slots: Object.values(args),
      outputs,
      round,
      release: [],
      mayUpdate: op.type === 'slice_update',
      plannedInPlace: false,
    })
  }

  const constSlots = new Map<number, Tensor>()
  for (const [v, s] of slots) {
    const t = constOf(v)
    if (t) constSlots.set(s, t)
  }
  const outputSlots = fn.block.outputs.map((v) => {
    if (!slots.has(v) && !constOf(v))
      throw new UnsupportedOpError('output', v.name, 'is never computed')
    const s = slotOf(v)
    const t = constOf(v)
    if (t) constSlots.set(s, t)
    return [v.name, s] as const
  })
  planReleases(
    steps,
    outputSlots.map(([, s]) => s),
    constSlots,
  )
  planStateAliases(
    steps,
    outputSlots.map(([, s]) => s),
  )
  const constVals = new Array<Tensor | undefined>(names.length).fill(undefined)
  for (const [s, t] of constSlots) constVals[s] = t
  return {
    slotCount: names.length,
    consts: constSlots,
    constVals,
    inputSlots,
    outputSlots,
    steps,
    names,
  }
}

/** Each temp slot is released after its last reader (or at once when nothing reads it). */
function planReleases(steps: Step[], outputs: number[], consts: Map<number, Tensor>) {
  const last = new Map<number, number>()
  steps.forEach((st, i) => {
    for (const s of st.outputs) if (s >= 0) last.set(s, i)
    for (const a of Object.values(st.args)) for (const s of [a].flat()) last.set(s, i)
  })
  const keep = new Set(outputs)
  for (const [s, i] of last) if (!keep.has(s) && !consts.has(s)) steps[i].release.push(s)
}
