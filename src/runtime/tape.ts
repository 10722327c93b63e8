// Tapes: a function's run recorded once and replayed on the same buffers. The recording run is
// interpreted as usual while every native kernel call is logged (tape-mode kernels take the native
// path at any size). Each op then falls in one of three kinds:
//   - native: an op whose whole work was native calls whose arguments are fixed by shapes, or
//     read when the call runs (products, elementwise, norms, rotary; the index math, KV-cache
//     writes and decoding attention, whose calls read the integers, the bounds and the mask
//     then): its calls go on a native tape, consecutive ops on one tape, replayed by a single
//     N-API call;
//   - view: reshape and the like, whose outputs alias their inputs' buffers at offsets fixed by
//     constants: nothing to redo;
//   - live: anything else (a kernel that computed in JavaScript, noteJsWork; a view at a computed
//     offset): its kernel runs again, on the tensors and output buffers it had when recorded.
// A replay is the recorded run's arithmetic on the same buffers, call for call: the bits are the
// interpreter's (test/generate/tape.test.ts checks decode steps against it). It skips what the
// interpreter does around each op (binding, reference counts, buffer pool, an N-API call per
// kernel), which was most of a decode step's time outside the products on small models.
import type { Call, CallEnv } from './call.js'
import { PROFILE, profileAdd } from './executor.js'
import { nativeKernels, type NativeTape } from './native.js'
import type { Step } from './plan.js'
import {
  bufferOf,
  isFloatDType,
  type NumericData,
  type NumericTensor,
  type Tensor,
} from './tensor.js'

/** A live op: its call and what it was bound to, allocated and returned when recorded. */
interface LiveOp {
  readonly step: Step
  readonly params: readonly string[]
  readonly values: readonly (Tensor | Tensor[] | undefined)[]
  readonly inPlace: boolean
  /** The call's env on replays: the recorded allocations, handed out in order. */
  readonly env: CallEnv
  /** The next allocation to hand out. */
  next: number
  readonly outs: readonly Tensor[]
}

type Segment =
  { readonly native: NativeTape; readonly calls: readonly unknown[][] } | { readonly live: LiveOp }

/** What the recording run saw of one op. */
export interface RecordedOp {
  readonly step: Step
  readonly calls: readonly unknown[][]
  /** Some of its work was done in JavaScript (noteJsWork). */
  readonly jsWork: boolean
  readonly allocs: readonly NumericData[]
  readonly outs: readonly Tensor[]
  /** Buffers of the op's inputs and of the states it touched. */
  readonly inputBuffers: readonly object[]
}

/** A recorded run, ready to replay. */
export class Tape {
  readonly #segments: Segment[] = []
  /** The counts by kind, for diagnostics and tests. */
  readonly counts = { native: 0, view: 0, live: 0, early: 0, tapes: 0 }

  constructor(
    ops: readonly RecordedOp[],
    /** The env the recording ran with (its state, scratch). */
    env: CallEnv,
    /** The input tensors the recording bound (replays copy new inputs into them). */
    readonly inputs: ReadonlyMap<string, NumericTensor>,
    /** Each state's tensor as recorded (a replay needs the same arrays). */
    readonly states: ReadonlyMap<string, NumericData>,
    /** The outputs, by name: the recorded tensors, refilled by each replay. */
    readonly outputs: Readonly<Record<string, Tensor>>,
    /** Buffers every op may read from the start: the inputs' and the constants'. */
    startBuffers: Iterable<object>,
    /** The function's constant tensors. */
    consts: ReadonlySet<Tensor>,
  ) {
    const nk = nativeKernels()
    // Live ops that only read inputs, constants and earlier such ops' results (the rotary table
    // rows, index math a kernel computes in JavaScript) run first, together: between two native
    // tapes a live op runs on cold caches and costs ~10 µs however small. An op moves only if it
    // writes buffers nobody else uses.
    const ready = new Set(startBuffers)
    const users = new Map<object, number>()
    for (const op of ops)
      for (const b of new Set([...op.outs.map(bufferOf), ...op.allocs.map((a) => a.buffer)]))
        users.set(b, (users.get(b) ?? 0) + 1)
    const prelude: Segment[] = []
    let pending: unknown[][] = []
    const flush = () => {
      if (!pending.length) return
      // the native tape holds raw pointers: its calls keep their arrays alive
      this.#segments.push({ native: nk!.tapeCreate(pending), calls: pending })
      this.counts.tapes++
      pending = []
    }
    for (const op of ops) {
      const { native, view } = op.step.row
      // a kernel reads its integer params (perm, pads, axes) in JavaScript: fixed only if constant
      const intsFixed = Object.entries(op.step.call.args).every(
        ([p, v]) =>
          native?.runtime.includes(p) ||
          [v].flat().every((t) => !t || isFloatDType(t.dtype) || consts.has(t)),
      )
      if (nk && op.calls.length && !op.jsWork && native && intsFixed) {
        pending.push(...op.calls)
        this.counts.native++
        continue
      }
      // a view at offsets fixed by constants: nothing to redo
      if (
        view &&
        !op.calls.length &&
        !op.jsWork &&
        op.outs.every((t) => op.inputBuffers.includes(bufferOf(t))) &&
        Object.entries(op.step.call.args).every(
          ([p, v]) => view.includes(p) || [v].flat().every((t) => !t || consts.has(t)),
        )
      ) {
        this.counts.view++
        continue
      }
      const call = op.step.call
      const early =
        !call.inPlace &&
        Object.keys(call.stateNames).length === 0 &&
        op.inputBuffers.every((b) => ready.has(b)) &&
        op.outs.every((t) => users.get(bufferOf(t)) === 1)
      if (!early) flush()
      const allocs = op.allocs
      const live: LiveOp = {
        step: op.step,
        params: Object.keys(call.args),
        values: Object.values(call.args).map((v) => (Array.isArray(v) ? [...v] : v)),
        inPlace: call.inPlace,
        env: {
          ...env,
          alloc: (_dtype, n) => {
            const d = allocs[live.next++]
            if (d?.length !== n)
              throw new Error(`${call.varName}: allocations differ from the tape's`)
            return d
          },
        },
        next: 0,
        outs: op.outs,
      }
      if (early) {
        prelude.push({ live })
        for (const t of op.outs) ready.add(bufferOf(t))
      } else this.#segments.push({ live })
      this.counts.live++
    }
    flush()
    this.#segments.unshift(...prelude)
    this.counts.early = prelude.length
  }

  /**
   * Replays the recorded ops. `runLive` runs a live op's kernel (rounding included); its call's
   * env hands out the buffers it allocated when recorded.
   */
  replay(runLive: (call: Call, step: Step) => Tensor[]): void {
    const nk = nativeKernels()!
    for (const seg of this.#segments) {
      if ('native' in seg) {
        const t0 = PROFILE ? performance.now() : 0
        nk.tapeRun(seg.native)
        if (PROFILE) profileAdd('native tape', t0, [])
        continue
      }
      const op = seg.live
      const call = op.step.call
      const args = call.args
      for (let a = 0; a < op.params.length; a++) {
        const v = op.values[a]
        if (!Array.isArray(v)) {
          args[op.params[a]] = v
          continue
        }
        const cur = args[op.params[a]]
        if (Array.isArray(cur) && cur.length === v.length)
          for (let j = 0; j < v.length; j++) cur[j] = v[j]
        else args[op.params[a]] = [...v]
      }
      call.inPlace = op.inPlace
      call.env = op.env
      op.next = 0
      const outs = runLive(call, op.step)
      for (let j = 0; j < op.outs.length; j++) {
        const rec = op.outs[j].data as NumericData
        const got = outs[j].data as NumericData
        if (got !== rec) rec.set(got)
      }
    }
  }
}
