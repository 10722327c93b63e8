// Tapes: a function's run recorded once and replayed on the same buffers. The recording run is
// interpreted as usual while every native kernel call is logged (tape-mode kernels take the native
// path at any size). Each op then falls in one of three kinds:
//   - native: an op whose whole work was native calls with arguments fixed by shapes (products,
//     elementwise, norms, rotary): its calls go on a native tape, consecutive ops on one tape,
//     replayed by a single N-API call;
//   - view: reshape and the like, whose outputs alias their inputs' buffers: nothing to redo;
//   - live: anything else (integer index math, KV-cache writes, attention, whose native call
//     depends on the mask's contents): its kernel runs again, on the tensors and output buffers
//     it had when recorded.
// A replay is the recorded run's arithmetic on the same buffers, call for call: the bits are the
// interpreter's (tape.test.ts checks decode steps against it). It skips what the interpreter does
// around each op (binding, reference counts, buffer pool, N-API call per kernel), which is most of
// a decode step's time outside the products on small models.
import type { Call } from './call.js'
import { nativeKernels, type NativeTape } from './native.js'
import type { Step } from './plan.js'
import type { NumericData, NumericTensor, Tensor } from './tensor.js'

/** Ops whose kernels do all their work in native calls when these are taken (nativeFor). */
const NATIVE_OPS: ReadonlySet<string> = new Set([
  'conv',
  'linear',
  'add',
  'sub',
  'mul',
  'real_div',
  'silu',
  'softmax',
  'anemll.rms_norm_pair',
  'anemll.rotate_half',
  'transpose',
])

/** Ops that may return views of their inputs (or of a state) without computing anything. */
const VIEW_OPS: ReadonlySet<string> = new Set([
  'reshape',
  'expand_dims',
  'squeeze',
  'slice_by_index',
  'slice_by_size',
  'transpose',
  'read_state',
  'coreml_update_state',
])

/** A live op: its call and what it was bound to, allocated and returned when recorded. */
interface LiveOp {
  readonly step: Step
  readonly args: readonly (readonly [string, Tensor | Tensor[] | undefined])[]
  readonly inPlace: boolean
  readonly allocs: readonly NumericData[]
  readonly outs: readonly Tensor[]
}

type Segment =
  { readonly native: NativeTape; readonly calls: readonly unknown[][] } | { readonly live: LiveOp }

/** What the recording run saw of one op. */
export interface RecordedOp {
  readonly step: Step
  readonly calls: readonly unknown[][]
  readonly allocs: readonly NumericData[]
  readonly outs: readonly Tensor[]
  /** Buffers of the op's inputs and of the states it touched. */
  readonly inputBuffers: readonly object[]
}

const bufferOf = (t: Tensor): object =>
  Array.isArray(t.data) ? t.data : (t.data as NumericData).buffer

/** A recorded run, ready to replay. */
export class Tape {
  readonly #segments: Segment[] = []
  /** The counts by kind, for diagnostics and tests. */
  readonly counts = { native: 0, view: 0, live: 0, tapes: 0 }

  constructor(
    ops: readonly RecordedOp[],
    /** The input tensors the recording bound (replays copy new inputs into them). */
    readonly inputs: ReadonlyMap<string, NumericTensor>,
    /** Each state's tensor as recorded (a replay needs the same arrays). */
    readonly states: ReadonlyMap<string, NumericData>,
    /** The outputs, by name: the recorded tensors, refilled by each replay. */
    readonly outputs: Readonly<Record<string, Tensor>>,
  ) {
    const nk = nativeKernels()
    let pending: unknown[][] = []
    const flush = () => {
      if (!pending.length) return
      // the native tape holds raw pointers: its calls keep their arrays alive
      this.#segments.push({ native: nk!.tapeCreate(pending), calls: pending })
      this.counts.tapes++
      pending = []
    }
    for (const op of ops) {
      const type = op.step.call.op.type
      if (nk && op.calls.length && NATIVE_OPS.has(type)) {
        pending.push(...op.calls)
        this.counts.native++
        continue
      }
      if (
        !op.calls.length &&
        VIEW_OPS.has(type) &&
        op.outs.every((t) => op.inputBuffers.includes(bufferOf(t)))
      ) {
        this.counts.view++
        continue
      }
      flush()
      const call = op.step.call
      this.#segments.push({
        live: {
          step: op.step,
          args: Object.entries(call.args).map(([p, v]) => [p, Array.isArray(v) ? [...v] : v]),
          inPlace: call.inPlace,
          allocs: op.allocs,
          outs: op.outs,
        },
      })
      this.counts.live++
    }
    flush()
  }

  /**
   * Replays the recorded ops. `runLive` runs a live op's kernel (rounding included) with
   * `alloc` handing out the buffers it allocated when recorded.
   */
  replay(
    runLive: (
      call: Call,
      step: Step,
      alloc: (dtype: unknown, n: number) => NumericData,
    ) => Tensor[],
  ): void {
    const nk = nativeKernels()!
    for (const seg of this.#segments) {
      if ('native' in seg) {
        nk.tapeRun(seg.native)
        continue
      }
      const op = seg.live
      const call = op.step.call
      for (const [p, v] of op.args) {
        const cur = call.args[p]
        if (Array.isArray(v) && Array.isArray(cur) && cur.length === v.length)
          for (let j = 0; j < v.length; j++) cur[j] = v[j]
        else call.args[p] = Array.isArray(v) ? [...v] : v
      }
      call.inPlace = op.inPlace
      let next = 0
      const outs = runLive(call, op.step, (_dtype, n) => {
        const d = op.allocs[next++]
        if (d?.length !== n)
          throw new Error(`${op.step.call.varName}: allocations differ from the tape's`)
        return d
      })
      for (let j = 0; j < op.outs.length; j++) {
        const rec = op.outs[j].data as NumericData
        const got = outs[j].data as NumericData
        if (got !== rec) rec.set(got)
      }
    }
  }
}
