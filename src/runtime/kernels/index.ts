// The kernel table: one reference kernel per executable op of the op table (src/mil/ops). constexpr
// ops have no kernel: the planner folds them when a function loads.
import type { Kernel } from '../kernel.js'
import { ACTIVATION } from './activation.js'
import { ATTENTION } from './attention.js'
import { ELEMENTWISE } from './elementwise.js'
import { EXTRA } from './extra.js'
import { INDEXING } from './indexing.js'
import { LINEAR } from './linear.js'
import { REDUCTION } from './reduction.js'
import { SHAPE } from './shape.js'
import { STATE } from './state.js'

/** Op type → reference kernel, for every op of the op table but the constexpr ones. */
export const KERNELS: Readonly<Record<string, Kernel>> = {
  ...ELEMENTWISE,
  ...ACTIVATION,
  ...LINEAR,
  ...REDUCTION,
  ...SHAPE,
  ...INDEXING,
  ...STATE,
  ...ATTENTION,
}

/** Kernels for ops outside the op table (kept as opaque ops when a package is read). */
export const EXTRA_KERNELS: Readonly<Record<string, Kernel>> = EXTRA

/**
 * Ops whose outputs only move or select input elements (or are exact by construction), so an
 * fp16 output needs no rounding pass.
 */
export const EXACT_OPS: ReadonlySet<string> = new Set([
  'reshape',
  'expand_dims',
  'squeeze',
  'transpose',
  'tile',
  'concat',
  'stack',
  'split',
  'fill',
  'band_part',
  'slice_by_index',
  'slice_update',
  'slice_by_size',
  'gather',
  'gather_along_axis',
  'topk',
  'read_state',
  'write_state',
  'coreml_update_state',
  'identity',
  'select',
  'maximum',
  'minimum',
  'relu',
  'abs',
  'sign',
  'ceil',
  'floor',
  'round',
  'clip',
  'reduce_max',
  'reduce_min',
])

/** Ops that may return a view of their input's data (x) instead of a new buffer. */
export const VIEW_OPS: ReadonlySet<string> = new Set([
  'reshape',
  'expand_dims',
  'squeeze',
  'slice_by_index',
  'slice_by_size',
])
