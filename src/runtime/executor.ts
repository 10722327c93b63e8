// Runs one planned function: binds inputs, constants and states to slots, calls each step's
// kernel, rounds fp16 outputs, recycles buffers when their last reader is done, and hands back
// the outputs (copied when they would alias a constant, an input or a state).
import { getFunction, type MilFunction, type Program } from '../mil/program.js'
import type { CoreMLModel } from '../package/model.js'
import type { Dim } from '../mil/types.js'
import { envVar } from '../util/env.js'
import { UsageError } from '../util/errors.js'
import { halfsToFloats } from '../util/fp16.js'
import type { Call } from './call.js'
import { type CallEnv } from './call.js'
import type { ConstCache } from './consts.js'
import { Fp16RangeError, fp16Issue } from './fp16-check.js'
import type { Kernel } from './kernel.js'
import { planFunction, type Plan, type PlanOptions, type Step } from './plan.js'
import { BufferPool } from './pool.js'
import { roundHalf, roundHalfInPlace } from './round.js'
import { State, type StateDecl } from './state.js'
import { nativeKernels, recordingNative } from './native.js'
import { Tape, type RecordedOp } from './tape.js'
import { LutWeight } from './lut.js'
import { HalfWeight } from './half.js'
import {
  bufferOf,
  cloneTensor,
  isFloatDType,
  runtimeDType,
  shapeText,
  type NumericTensor,
  type RuntimeDType,
  type Tensor,
} from './tensor.js'
import { checkInput, type InputInfo } from './inputs.js'

export interface LoadOptions {
  /**
   * Strict-fp16 mode: every float constant, input and op output is rounded to fp16 (fp32
   * programs included, as the Neural Engine computes), and the first op whose output overflows
   * to ±Infinity or turns NaN without such inputs throws an Fp16RangeError naming its var.
   */
  readonly strictFp16?: boolean
  /**
   * Decode LUT-palettized weights to dense tensors at load. By default they stay packed and
   * conv 1×1 / linear decode a few rows at a time (1/8 of the fp32 memory for 4-bit weights).
   */
  readonly denseWeights?: boolean
  /** Testing aid: reused buffers are filled with garbage first. */
  readonly poisonBuffers?: boolean
  /**
   * Run fp16 op chains (the RMSNorm and rotary spellings of ANE graphs) as single fused ops with
   * bit-identical results; default true. Runs that watch vars (onVar) use the unfused plan.
   */
  readonly fuse?: boolean
}

export interface RunOptions {
  /** Called after each op for every output var `watch` accepts, with a copy of its value. */
  readonly onVar?: (name: string, value: Tensor, opType: string) => void
  /** Var names (or a predicate) to report to onVar; all vars when omitted. */
  readonly watch?: readonly string[] | ((name: string) => boolean)
}

const constCaches = new WeakMap<object, ConstCache>()

// ANEMLL_PROFILE=1: time per op type (kernel + fp16 rounding), printed to stderr at exit.
export const PROFILE = envVar('ANEMLL_PROFILE') === '1'
const PRODUCTS = new Set(['conv', 'matmul', 'linear'])
const profile = new Map<string, { ms: number; calls: number; elems: number }>()
export function profileAdd(opType: string, t0: number, outs: readonly Tensor[]) {
  // products by output shape: their cost depends on it
  const type = PRODUCTS.has(opType) ? `${opType}${shapeText(outs[0].shape)}` : opType
  const e = profile.get(type) ?? { ms: 0, calls: 0, elems: 0 }
  e.ms += performance.now() - t0
  e.calls++
  for (const t of outs) e.elems += t.data.length
  if (profile.size === 0) process.once('exit', printProfile)
  profile.set(type, e)
}
function printProfile() {
  const rows = [...profile].sort((a, b) => b[1].ms - a[1].ms)
  const total = rows.reduce((s, [, e]) => s + e.ms, 0)
  process.stderr.write(`op profile: ${total.toFixed(0)} ms in kernels\n`)
  for (const [t, e] of rows)
    process.stderr.write(
      `${t.padEnd(28)} ${e.ms.toFixed(1).padStart(9)} ms ${String(e.calls).padStart(8)} calls ${(e.elems / e.calls).toFixed(0).padStart(9)} elems/call\n`,
    )
}

/** A function ready to run: planned once, run many times. */
export class Executable {
  readonly inputs: readonly InputInfo[]
  readonly outputs: readonly string[]
  readonly states: readonly StateDecl[]
  readonly #plan: Plan
  /** The plan without fused ops, made on the first run that watches vars. */
  #plainPlan?: Plan
  /** runTaped's tapes by state (the Executable itself for stateless functions); null: none. */
  readonly #tapes = new WeakMap<object, Tape | null>()
  readonly #planOptions: PlanOptions
  readonly #pool: BufferPool
  readonly #scratch: Float32Array[] = []
  readonly #strict: boolean

  constructor(
    readonly fn: MilFunction,
    cache: ConstCache,
    opts: LoadOptions = {},
  ) {
    this.#strict = !!opts.strictFp16
    this.#pool = new BufferPool(!!opts.poisonBuffers)
    const fold = (call: Call, kernel: Kernel, round: boolean[]) => {
      call.env = { ...this.#env(undefined), alloc: allocFresh }
      return this.#finish(call, kernel(call), round)
    }
    this.#planOptions = {
      cache,
      strictFp16: this.#strict,
      denseWeights: !!opts.denseWeights,
      fold,
    }
    this.#plan = planFunction(fn, { ...this.#planOptions, fuse: opts.fuse !== false })
    this.inputs = fn.inputs
      .filter((i) => i.var.type.kind === 'tensor')
      .map((i) => {
        const t = i.var.type as { dtype: string; shape: readonly Dim[] }
        return {
          name: i.var.name,
          dtype: runtimeDType(t.dtype as never, `input '${i.var.name}'`),
          shape: t.shape,
          flexibility: i.flexibility,
        }
      })
    this.outputs = this.#plan.outputSlots.map(([n]) => n)
    this.states = fn.inputs.flatMap((i) => {
      const t = i.var.type
      if (t.kind !== 'state') return []
      const shape = t.wrapped.shape
      if (shape.some((d) => typeof d !== 'number'))
        throw new UsageError(
          `state '${i.var.name}' has unknown dims ${shapeText(shape as number[])}`,
        )
      return [
        {
          name: i.var.name,
          dtype: runtimeDType(t.wrapped.dtype, `state '${i.var.name}'`),
          shape: shape as number[],
        },
      ]
    })
  }

  /** The planned steps, for diagnostics: op type, first output var, KV-cache in-place flag. */
  describePlan(): { opType: string; varName: string; inPlace: boolean }[] {
    return this.#plan.steps.map((s) => ({
      opType: s.call.op.type,
      varName: s.call.varName,
      inPlace: s.plannedInPlace,
    }))
  }

  /** The function's name (`main`, `infer`, `prefill`, ...). */
  get name(): string {
    return this.fn.name
  }

  /**
   * Runs the function. fp16 inputs may be Float32Array (rounded to fp16) or raw bits
   * (Uint16Array); fp16 outputs are Float32Array holding fp16 values.
   * @throws UsageError for missing/mismatched inputs or states, ExecError for bad run-time
   *   values, Fp16RangeError in strict-fp16 mode
   */
  run(
    inputs: Record<string, Tensor>,
    state?: State,
    opts: RunOptions = {},
  ): Record<string, Tensor> {
    const plan = opts.onVar
      ? (this.#plainPlan ??= planFunction(this.fn, this.#planOptions))
      : this.#plan
    const vals = this.#bind(plan, inputs, state, (t) => t)
    this.#interpret(plan, vals, this.#env(state), this.#pool, opts)
    const result: Record<string, Tensor> = {}
    for (const [name, s] of plan.outputSlots) {
      const t = vals[s]!
      if (this.#pool.owns(t.data)) {
        this.#pool.disown(t.data as NumericTensor['data'])
        // kernels may share shape arrays across runs (memo): the caller gets its own
        result[name] = { dtype: t.dtype, shape: [...t.shape], data: t.data }
      } else result[name] = cloneTensor(t)
    }
    return result
  }

  /**
   * Runs like run(), through a tape (tape.ts) recorded by this function's first runTaped with
   * this state: the same kernels on the same buffers, bit for bit, with the native ones batched
   * into single calls and the interpreter's bookkeeping skipped (decoding is ~1.6× faster on
   * SmolLM2). The outputs are the tape's own tensors: read them before the next runTaped with
   * this state. Falls back to run() in strict-fp16 mode, without the native kernels, and when an
   * input's shape differs from the recorded one.
   */
  runTaped(inputs: Record<string, Tensor>, state?: State): Record<string, Tensor> {
    if (this.#strict || !nativeKernels()) return this.run(inputs, state)
    const key = state ?? this
    const tape = this.#tapes.get(key)
    if (tape === undefined) {
      const { tape: made, outputs } = this.#record(inputs, state)
      this.#tapes.set(key, made)
      return outputs
    }
    if (!tape || !this.#tapeFits(tape, inputs, state)) return this.run(inputs, state)
    for (const info of this.inputs)
      this.#prepareInput(info, inputs[info.name], tape.inputs.get(info.name)!.data)
    try {
      tape.replay((call, step) => {
        const t0 = PROFILE ? performance.now() : 0
        const outs = this.#finish(call, step.row.run(call), step.round)
        if (PROFILE) profileAdd(`live ${call.op.type}`, t0, outs)
        return outs
      })
    } catch {
      // e.g. a KV-cache write whose slice no longer fits: what ran is redone by the interpreter
      // (it writes the same values), which also reports a real error properly
      this.#tapes.set(key, null)
      return this.run(inputs, state)
    }
    return tape.outputs
  }

  /** What runTaped's tape for `state` holds (ops by kind, native tapes), if it has one. */
  describeTape(state?: State): Tape['counts'] | undefined {
    const t = this.#tapes.get(state ?? this)
    return t ? { ...t.counts } : undefined
  }

  #tapeFits(tape: Tape, inputs: Record<string, Tensor>, state: State | undefined): boolean {
    for (const info of this.inputs) {
      const t = inputs[info.name]
      const rec = tape.inputs.get(info.name)
      if (!t || !rec || t.shape.length !== rec.shape.length) return false
      if (t.shape.some((d, i) => d !== rec.shape[i])) return false
    }
    for (const [name, data] of tape.states) if (state?.get(name).data !== data) return false
    return Object.keys(inputs).length === this.inputs.length
  }

  /** An interpreted run with every native call logged, made into a Tape. */
  #record(inputs: Record<string, Tensor>, state: State | undefined) {
    const plan = this.#plan
    // the tape's own buffers: its inputs are copies, its temps come from a pool of its own
    const vals = this.#bind(plan, inputs, state, (t) => ({
      ...t,
      data: (t.data as NumericTensor['data']).slice(),
    }))
    const tapeInputs = new Map<string, NumericTensor>()
    for (const [name, s] of plan.inputSlots) tapeInputs.set(name, vals[s] as NumericTensor)
    const pool = new BufferPool()
    let allocs: NumericTensor['data'][] = []
    const env = this.#env(state)
    const recEnv: CallEnv = {
      ...env,
      alloc: (dtype, n) => {
        // integers (index math) get buffers of their own, so the tape may run them early
        const d = isFloatDType(dtype)
          ? pool.get(dtype as Exclude<RuntimeDType, 'string'>, n)
          : allocFresh(dtype, n)
        allocs.push(d)
        return d
      },
    }
    const ops: RecordedOp[] = []
    this.#interpret(plan, vals, recEnv, pool, {}, (st, exec) => {
      allocs = []
      const calls: unknown[][] = []
      const { value: outs, jsWork } = recordingNative((c) => calls.push(c), exec)
      const call = st.call
      const inputBuffers = (Object.values(call.args).flat() as (Tensor | undefined)[])
        .filter((t): t is Tensor => !!t)
        .map(identityOf)
      for (const n of Object.values(call.stateNames)) inputBuffers.push(bufferOf(env.state(n)))
      ops.push({ step: st, calls, jsWork, allocs, outs, inputBuffers })
      return outs
    })
    const outputs: Record<string, Tensor> = {}
    for (const [name, s] of plan.outputSlots) outputs[name] = vals[s]!
    const states = new Map(this.states.map((d) => [d.name, state!.get(d.name).data]))
    const start = [...tapeInputs.values(), ...plan.consts.values()].map(identityOf)
    const consts = new Set(plan.consts.values())
    return { tape: new Tape(ops, env, tapeInputs, states, outputs, start, consts), outputs }
  }

  /** The run's slot values: constants, then the prepared inputs (through `own`), states checked. */
  #bind(
    plan: Plan,
    inputs: Record<string, Tensor>,
    state: State | undefined,
    own: (t: Tensor) => Tensor,
  ): (Tensor | undefined)[] {
    const vals = plan.constVals.slice()
    for (const info of this.inputs) {
      const t = inputs[info.name]
      if (!t)
        throw new UsageError(
          `missing input '${info.name}' (inputs: ${this.inputs.map((i) => i.name).join(', ')})`,
        )
      vals[plan.inputSlots.get(info.name)!] = own(this.#prepareInput(info, t))
    }
    for (const k of Object.keys(inputs))
      if (!plan.inputSlots.has(k) && !this.inputs.some((i) => i.name === k))
        throw new UsageError(
          `unknown input '${k}' (inputs: ${this.inputs.map((i) => i.name).join(', ')})`,
        )
    if (this.states.length) {
      if (!state) throw new UsageError(`function '${this.name}' has states; pass createState(fn)`)
      for (const d of this.states) state.declare(d)
    }
    return vals
  }

  /** The interpreter loop; `wrap` (recording) runs around each step's kernel and rounding. */
  #interpret(
    plan: Plan,
    vals: (Tensor | undefined)[],
    env: CallEnv,
    pool: BufferPool,
    opts: RunOptions,
    wrap?: (st: Step, exec: () => Tensor[]) => Tensor[],
  ): void {
    // references per underlying buffer, so views (reshape, contiguous slices) keep it alive
    const refs = new Map<object, number>()
    const watch = watcher(opts)
    const steps = plan.steps
    for (let i = 0; i < steps.length; i++) {
      const st = steps[i]
      const call = st.call
      call.env = env
      bindArgs(st, vals)
      call.inPlace = st.plannedInPlace || (st.mayUpdate && canUpdateInPlace(st, refs, pool))
      const t0 = PROFILE ? performance.now() : 0
      const exec = () => this.#finish(call, st.row.run(call), st.round)
      const outs = wrap ? wrap(st, exec) : exec()
      if (PROFILE) profileAdd(call.op.type, t0, outs)
      for (let j = 0; j < outs.length; j++) {
        const t = outs[j]
        const s = st.outputs[j]
        vals[s] = t
        const key = bufferOf(t)
        refs.set(key, (refs.get(key) ?? 0) + 1)
        if (watch?.(plan.names[s])) opts.onVar!(plan.names[s], cloneTensor(t), call.op.type)
      }
      const release = st.release
      for (let r = 0; r < release.length; r++) {
        const s = release[r]
        const key = bufferOf(vals[s]!)
        const n = refs.get(key)
        vals[s] = undefined
        if (n === undefined) continue
        if (n > 1) refs.set(key, n - 1)
        else {
          refs.delete(key)
          const owner = pool.ownerOf(key)
          if (owner) pool.put(owner)
        }
      }
    }
  }

  /** Rounds fp16 outputs and, in strict mode, reports the first overflow or NaN. */
  #finish(call: Call, outs: Tensor[], round: readonly boolean[]): Tensor[] {
    for (let j = 0; j < outs.length; j++) {
      const t = outs[j]
      if (round[j]) roundHalf(t.data as Float32Array)
      if (!this.#strict) continue
      const inputs = Object.values(call.args).flat() as Tensor[]
      const issue = fp16Issue(call.op.outputs[j]?.name ?? call.varName, call.op.type, t, inputs)
      if (issue) throw new Fp16RangeError(issue)
    }
    return outs
  }

  /** The input as the kernels take it; written into `into` (a tape's input) when given. */
  #prepareInput(info: InputInfo, t: Tensor, into?: NumericTensor['data']): Tensor {
    checkInput(info, t)
    if (info.dtype === 'fp16' && t.data instanceof Uint16Array)
      return { dtype: 'fp16', shape: t.shape, data: halfsToFloats(t.data, into as Float32Array) }
    if (info.dtype === 'fp16' || (this.#strict && isFloatDType(info.dtype))) {
      // rounded into a copy: the caller's array is never written
      const d = into ? (into as Float32Array) : (t.data as Float32Array).slice()
      if (into) d.set(t.data as Float32Array)
      roundHalfInPlace(d)
      return { dtype: info.dtype, shape: t.shape, data: d }
    }
    if (into) into.set(t.data as NumericTensor['data'])
    return t.dtype === info.dtype ? t : { ...t, dtype: info.dtype }
  }

  #env(state: State | undefined): CallEnv {
    return {
      alloc: (dtype, n) => this.#pool.get(dtype as Exclude<RuntimeDType, 'string'>, n),
      scratch: (n, slot) => {
        const s = this.#scratch[slot]
        if (s && s.length >= n) return s.subarray(0, n)
        return (this.#scratch[slot] = new Float32Array(Math.max(n, (s?.length ?? 0) * 2))).subarray(
          0,
          n,
        )
      },
      state: (name) => {
        if (!state) throw new UsageError(`function '${this.name}' needs a State`)
        return state.get(name)
      },
    }
  }
}

/** slice_update may overwrite x when x's buffer is a pool temp read by nobody after this step. */
function canUpdateInPlace(st: Step, refs: Map<object, number>, pool: BufferPool) {
  const x = st.call.args.x as Tensor
  return (
    pool.owns(x.data) && refs.get(bufferOf(x)) === 1 && st.release.includes(st.args.x as number)
  )
}

/** Points the step's call at this run's tensors (its args object and lists are reused). */
function bindArgs(st: Step, vals: readonly (Tensor | undefined)[]) {
  const args = st.call.args
  const { params, slots } = st
  for (let a = 0; a < params.length; a++) {
    const s = slots[a]
    if (typeof s === 'number') args[params[a]] = vals[s]
    else {
      const list = args[params[a]] as (Tensor | undefined)[]
      for (let j = 0; j < s.length; j++) list[j] = vals[s[j]]
    }
  }
}

/** bufferOf, but packed weights are their own identity: their `data` would decode them. */
const identityOf = (t: Tensor): object =>
  t instanceof LutWeight || t instanceof HalfWeight ? t : bufferOf(t)

const allocFresh = (dtype: RuntimeDType, n: number) =>
  new (dtype === 'fp16' || dtype === 'fp32' ? Float32Array : ctorOf(dtype))(n)

function ctorOf(dtype: RuntimeDType) {
  const m: Record<string, new (n: number) => NumericTensor['data']> = {
    int32: Int32Array,
    int16: Int16Array,
    uint16: Uint16Array,
    int8: Int8Array,
    uint8: Uint8Array,
    bool: Uint8Array,
  }
  return m[dtype] ?? Float32Array
}

function watcher(opts: RunOptions): ((name: string) => boolean) | undefined {
  if (!opts.onVar) return undefined
  const w = opts.watch
  if (!w) return () => true
  if (typeof w === 'function') return w
  const set = new Set(w)
  return (n) => set.has(n)
}

/**
 * Plans one function of a model for execution. Constants (weights, LUT-compressed ones
 * included) are materialized once and shared by the model's other loaded functions.
 * @example
 * const model = readPackage('model.mlpackage')
 * const infer = loadFunction(model, 'infer')
 * const state = createState(infer)
 * const out = infer.run({ input_ids: makeTensor('int32', [1, 1], [42]) }, state)
 */
export function loadFunction(
  model: CoreMLModel | Program,
  name?: string,
  opts: LoadOptions = {},
): Executable {
  const program = 'program' in model ? model.program : model
  let cache = constCaches.get(program)
  if (!cache) constCaches.set(program, (cache = new Map()))
  return new Executable(getFunction(program, name), cache, opts)
}

/** A zero-filled State for every state the given functions declare (one KV cache shared by all). */
export function createState(...fns: Executable[]): State {
  const s = new State()
  for (const f of fns) for (const d of f.states) s.declare(d)
  return s
}
