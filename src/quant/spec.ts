// LUT settings: ANEMLL 0.3.5's `--lut1/2/3 bits[,group]` syntax, and what a setting means for a
// weight's shape (how many LUTs, how many weights each one covers, the LUT tensor's shape).
import { UsageError } from '../util/errors.js'

/** Index widths we palettize to (coremltools also has 1; the issue asks for these five). */
export const LUT_BITS = [2, 3, 4, 6, 8] as const
export type LutBits = (typeof LUT_BITS)[number]

/** One weight's LUT setting: `groupSize` output channels share a LUT; 0 = one LUT per tensor. */
export interface LutSpec {
  bits: LutBits
  groupSize: number
}

/** ANEMLL's group when a value gives only bits (`--lut2 4` means `4,8`). */
export const DEFAULT_GROUP_SIZE = 8

const NO_LUT = new Set(['', 'none', 'no', 'false'])
const PER_TENSOR = new Set(['0', 't', 'tensor'])

const isLutBits = (n: number): n is LutBits => (LUT_BITS as readonly number[]).includes(n)

/**
 * Parses a `--lutN` value: `4`, `4,8`, `6,0` / `6,t` / `6,tensor` (per-tensor); `none`, `no`,
 * `false` or empty mean no LUT (fp16) and give undefined.
 * @throws UsageError naming `flag` and the allowed values
 * @example parseLutSpec('6,4', '--lut3') // { bits: 6, groupSize: 4 }
 */
export function parseLutSpec(value: string, flag: string): LutSpec | undefined {
  const v = value.trim().toLowerCase()
  if (NO_LUT.has(v)) return undefined
  const parts = v.split(',').map((s) => s.trim())
  const bad = (why: string) => new UsageError(`${flag} '${value}': ${why}`)
  if (parts.length > 2) throw bad('expected bits or bits,group (e.g. 4 or 4,8), or none')
  const [b, g = ''] = parts
  const bits = /^\d+$/.test(b) ? Number(b) : NaN
  if (!isLutBits(bits))
    throw bad(`LUT bits must be one of ${LUT_BITS.join(', ')} (or none for fp16)`)
  if (g === '') return { bits, groupSize: DEFAULT_GROUP_SIZE }
  if (PER_TENSOR.has(g)) return { bits, groupSize: 0 }
  if (!/^\d+$/.test(g) || !Number.isSafeInteger(Number(g))) {
    throw bad('group must be a positive number of output channels, or 0, t or tensor (one LUT)')
  }
  return { bits, groupSize: Number(g) }
}

/** How a spec splits a weight: `groups` LUTs of `groupElems` contiguous weights each. */
export interface LutLayout {
  groups: number
  groupElems: number
  /** `[C_out/G, 1, …, 1, 2^bits, 1]`, or `[1, …, 1, 2^bits, 1]` per tensor. */
  lutShape: number[]
}

/**
 * The layout of `spec` over a weight of `shape` (output channels on axis 0).
 * @throws UsageError if the shape is empty or the group does not divide the output channels
 */
export function lutLayout(shape: readonly number[], spec: LutSpec): LutLayout {
  const numel = shape.reduce((a, b) => a * b, 1)
  if (shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new UsageError(`cannot palettize a weight of shape [${shape.join(', ')}]`)
  }
  if (!isLutBits(spec.bits)) {
    throw new UsageError(`LUT bits must be one of ${LUT_BITS.join(', ')}, got ${spec.bits}`)
  }
  const g = spec.groupSize
  if (!Number.isInteger(g) || g < 0 || (g > 0 && shape[0] % g !== 0)) {
    throw new UsageError(
      `LUT group size ${g} does not divide the ${shape[0]} output channels of a ` +
        `[${shape.join(', ')}] weight (use a divisor, or 0 for one LUT)`,
    )
  }
  const groups = g === 0 ? 1 : shape[0] / g
  const lutShape = [groups, ...shape.slice(1).map(() => 1), 2 ** spec.bits, 1]
  if (g === 0) lutShape[0] = 1
  return { groups, groupElems: numel / groups, lutShape }
}
