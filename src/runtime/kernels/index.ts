// The kernel table: one row per op type the executor runs, holding its reference kernel and every
// property the runtime's passes read (planner, fp16 rounding, alias analysis, tapes). Adding a
// kernel is adding a row here and its tests. constexpr ops have no row: the planner folds them
// when a function loads.
import { FUSED_ATTENTION, maskedAttention } from '../fuse-attention.js'
import { FUSED_RMS_NORM, FUSED_ROTATE_HALF, rmsNormPair, rotateHalf } from '../fuse.js'
import type { Kernel } from '../kernel.js'
import { ACTIVATION as A } from './activation.js'
import { ATTENTION } from './attention.js'
import { ELEMENTWISE as E } from './elementwise.js'
import { EXTRA } from './extra.js'
import { INDEXING as I } from './indexing.js'
import { LINEAR as L } from './linear.js'
import { REDUCTION as R } from './reduction.js'
import { SHAPE as S } from './shape.js'
import { STATE } from './state.js'

/** Everything the runtime knows about one op type's kernel. */
export interface KernelRow {
  /** The reference kernel. */
  readonly run: Kernel
  /**
   * Its outputs only move or select input elements, or are exact by construction: an fp16
   * output needs no rounding pass.
   */
  readonly exact?: true
  /**
   * It may return a view of these inputs' buffers (or of a state's) instead of computing: its
   * outputs alias them (alias analysis), and a tape replays it by doing nothing when every other
   * param is a constant.
   */
  readonly view?: readonly string[]
  /**
   * When the native kernels are taken it does all its work in native calls, which a tape may
   * hold; `runtime` lists the params those calls read when they run (the others must be
   * constants for a tape to keep the calls).
   */
  readonly native?: { readonly runtime: readonly string[] }
  /** It reads a state, or writes one (state writes are live even when nobody reads them). */
  readonly state?: 'read' | 'write'
  /** Not in the op table: run when a package's opaque op has this type. */
  readonly opaque?: true
  /** Made by the planner's fusion (fuse.ts), never found in a program. */
  readonly fused?: true
}

const NATIVE = { runtime: [] } as const
/** Integer index math (add/sub on int32, concat of ints): the native calls read the data. */
const NATIVE_INTS = (...params: string[]) => ({ runtime: params })

/** Op type → kernel row. */
export const KERNEL_TABLE: Readonly<Record<string, KernelRow>> = {
  // elementwise binary (broadcasting), comparisons, select
  add: { run: E.add, native: NATIVE_INTS('x', 'y') },
  sub: { run: E.sub, native: NATIVE_INTS('x', 'y') },
  mul: { run: E.mul, native: NATIVE },
  real_div: { run: E.real_div, native: NATIVE },
  floor_div: { run: E.floor_div },
  mod: { run: E.mod },
  maximum: { run: E.maximum, exact: true },
  minimum: { run: E.minimum, exact: true },
  pow: { run: E.pow },
  equal: { run: E.equal },
  not_equal: { run: E.not_equal },
  less: { run: E.less },
  less_equal: { run: E.less_equal },
  greater: { run: E.greater },
  greater_equal: { run: E.greater_equal },
  select: { run: E.select, exact: true },
  // unary math and activations
  sqrt: { run: A.sqrt },
  exp: { run: A.exp },
  tanh: { run: A.tanh },
  sigmoid: { run: A.sigmoid },
  silu: { run: A.silu, native: NATIVE },
  relu: { run: A.relu, exact: true },
  erf: { run: A.erf },
  sin: { run: A.sin },
  cos: { run: A.cos },
  square: { run: A.square },
  abs: { run: A.abs, exact: true },
  sign: { run: A.sign, exact: true },
  ceil: { run: A.ceil, exact: true },
  floor: { run: A.floor, exact: true },
  round: { run: A.round, exact: true },
  identity: { run: A.identity, exact: true },
  logical_not: { run: A.logical_not },
  rsqrt: { run: A.rsqrt },
  inverse: { run: A.inverse },
  log: { run: A.log },
  clip: { run: A.clip, exact: true },
  gelu: { run: A.gelu },
  softmax: { run: A.softmax, native: NATIVE },
  // products
  conv: { run: L.conv, native: NATIVE },
  linear: { run: L.linear, native: NATIVE },
  matmul: { run: L.matmul },
  // reductions and norms
  reduce_sum: { run: R.reduce_sum },
  reduce_mean: { run: R.reduce_mean },
  reduce_max: { run: R.reduce_max, exact: true },
  reduce_min: { run: R.reduce_min, exact: true },
  reduce_argmax: { run: R.reduce_argmax },
  layer_norm: { run: R.layer_norm },
  // shapes: a transpose that moves only size-1 axes is a view
  reshape: { run: S.reshape, exact: true, view: ['x'] },
  expand_dims: { run: S.expand_dims, exact: true, view: ['x'] },
  squeeze: { run: S.squeeze, exact: true, view: ['x'] },
  transpose: { run: S.transpose, exact: true, view: ['x'], native: NATIVE },
  tile: { run: S.tile, exact: true },
  concat: { run: S.concat, exact: true, native: NATIVE_INTS('values') },
  stack: { run: S.stack, exact: true },
  split: { run: S.split, exact: true },
  fill: { run: S.fill, exact: true },
  band_part: { run: S.band_part, exact: true },
  cast: { run: S.cast },
  // indexing; a KV-cache write's native call reads its bounds when it runs
  slice_by_index: { run: I.slice_by_index, exact: true, view: ['x'] },
  slice_update: { run: I.slice_update, exact: true, native: NATIVE_INTS('begin', 'end') },
  slice_by_size: { run: I.slice_by_size, exact: true, view: ['x'] },
  gather: { run: I.gather, exact: true },
  gather_along_axis: { run: I.gather_along_axis, exact: true },
  topk: { run: I.topk, exact: true },
  // states
  read_state: { run: STATE.read_state, exact: true, view: ['input'], state: 'read' },
  write_state: { run: STATE.write_state, exact: true, state: 'write' },
  coreml_update_state: {
    run: STATE.coreml_update_state,
    exact: true,
    view: ['state', 'value'],
    state: 'write',
  },
  scaled_dot_product_attention: { run: ATTENTION.scaled_dot_product_attention },
  // outside the op table (opaque ops of packages we read)
  logical_and: { run: EXTRA.logical_and, opaque: true },
  logical_or: { run: EXTRA.logical_or, opaque: true },
  logical_xor: { run: EXTRA.logical_xor, opaque: true },
  fill_like: { run: EXTRA.fill_like, opaque: true },
  // fused chains (fuse.ts, fuse-attention.ts)
  [FUSED_RMS_NORM]: { run: rmsNormPair, fused: true, native: NATIVE },
  [FUSED_ROTATE_HALF]: { run: rotateHalf, fused: true, native: NATIVE },
  [FUSED_ATTENTION]: { run: maskedAttention, fused: true, native: NATIVE },
}

/** The row of `type`, or undefined when the executor has no kernel for it. */
export function kernelRow(type: string): KernelRow | undefined {
  return Object.hasOwn(KERNEL_TABLE, type) ? KERNEL_TABLE[type] : undefined
}
