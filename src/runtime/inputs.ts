// Checks a caller's input tensor against the function's declared input (dtype, shape, and the
// range or enumerated shapes of a flexible input).
import type { Flexibility } from '../mil/program.js'
import type { Dim } from '../mil/types.js'
import { UsageError } from '../util/errors.js'
import { numel, shapeText, storageOf, type RuntimeDType, type Tensor } from './tensor.js'

export interface InputInfo {
  readonly name: string
  readonly dtype: RuntimeDType
  /** Declared shape; symbolic dims (strings) accept any size. */
  readonly shape: readonly Dim[]
  readonly flexibility?: Flexibility
}

function shapeOk(info: InputInfo, shape: readonly number[]): boolean {
  const f = info.flexibility
  if (f?.kind === 'enumerated') return f.shapes.some((s) => s.join() === shape.join())
  if (f?.kind === 'range')
    return (
      f.ranges.length === shape.length &&
      f.ranges.every(([lo, hi], i) => shape[i] >= lo && (hi < 0 || shape[i] <= hi))
    )
  return (
    info.shape.length === shape.length &&
    info.shape.every((d, i) => typeof d !== 'number' || d === shape[i])
  )
}

export function checkInput(info: InputInfo, t: Tensor): void {
  const what = `input '${info.name}'`
  // fp16 and fp32 tensors are both Float32Array: either is accepted for a float input
  const float = (d: RuntimeDType) => d === 'fp16' || d === 'fp32'
  if (t.dtype !== info.dtype && !(float(t.dtype) && float(info.dtype)))
    throw new UsageError(`${what} must be ${info.dtype}, got ${t.dtype}`)
  if (!shapeOk(info, t.shape))
    throw new UsageError(
      `${what} has shape ${shapeText(t.shape)}; the function declares ${shapeText(info.shape as number[])}`,
    )
  if (t.dtype === 'string') throw new UsageError(`${what}: string inputs are not supported`)
  const ok =
    t.data instanceof storageOf(t.dtype) || (t.dtype === 'fp16' && t.data instanceof Uint16Array)
  if (!ok || t.data.length !== numel(t.shape))
    throw new UsageError(
      `${what}: data must be a ${storageOf(t.dtype).name} of ${numel(t.shape)} elements`,
    )
}
