// What a kernel sees: its op's bound input tensors, parameter readers, and an allocator.
import { AnemllError } from '../util/errors.js'
import type { Operation } from '../mil/program.js'
import type { NumericTensor, RuntimeDType, Tensor } from './tensor.js'

/** A bad run-time value inside an op (shape mismatch, out-of-range index): names op and var. */
export class ExecError extends AnemllError {
  override name = 'ExecError'
}

/** An op the executor has no kernel for (opaque, control flow): names the op type and its var. */
export class UnsupportedOpError extends AnemllError {
  override name = 'UnsupportedOpError'
  constructor(
    readonly opType: string,
    readonly varName: string,
    detail = 'no kernel for this op type',
  ) {
    super(`cannot execute ${opType} '${varName}': ${detail}`)
  }
}

/** The arguments of one op execution. Parameters are read from the bound (often const) tensors. */
export interface KernelCall {
  readonly op: Operation
  /** Name of the op's first output var (what errors and debug dumps show). */
  readonly varName: string
  /** The tensor bound to `param` (the first one of a variadic list); throws when unbound. */
  in(param: string): NumericTensor
  /** Like in(), undefined when the optional input is absent. */
  opt(param: string): NumericTensor | undefined
  /** All tensors of a variadic parameter (concat.values). */
  list(param: string): NumericTensor[]
  int(param: string, fallback?: number): number
  ints(param: string, fallback?: readonly number[]): number[]
  float(param: string, fallback?: number): number
  bool(param: string, fallback: boolean): boolean
  bools(param: string, fallback: readonly boolean[]): boolean[]
  str(param: string, fallback?: string): string
  /** Declared dtype of output i. */
  outDType(i?: number): RuntimeDType
  /** A tensor from the buffer pool; its contents are unspecified (write every element). */
  alloc(dtype: RuntimeDType, shape: readonly number[]): NumericTensor
  /** A zero-filled tensor from the buffer pool. */
  zeros(dtype: RuntimeDType, shape: readonly number[]): NumericTensor
  /** Scratch space valid until the kernel returns (reused across calls); `slot` tells buffers apart. */
  scratch(n: number, slot?: number): Float32Array
  /** The tensor of a state parameter (read_state.input); writes go to the State. */
  state(param: string): NumericTensor
  /**
   * A value derived from the bound inputs, computed by `make` on the first call and again only when
   * the key changes: every input's shape, plus the values of every input not named in `shapeOnly`
   * (pass the big data inputs there). A step runs with the same shapes on every run, so kernels
   * keep their broadcast plans, offset tables and output shapes here. One memo per kernel; `make`
   * must not capture input data (only shapes and parameter values).
   */
  memo<T>(shapeOnly: readonly string[], make: () => T): T
  /** Set by the planner when input `x` may be overwritten (slice_update into a KV cache). */
  readonly inPlace: boolean
  fail(msg: string): never
}

/** A reference kernel: computes the op's outputs (one tensor per output var). */
export type Kernel = (k: KernelCall) => Tensor[]

/** Normalizes a possibly negative axis, failing with the op's name when out of range. */
export function axisOf(k: KernelCall, axis: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank)
    k.fail(`${what} ${axis} is out of range for rank ${rank}`)
  return axis < 0 ? axis + rank : axis
}
