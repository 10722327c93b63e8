// Ops outside our op table (src/mil/ops) that coremltools' PyTorch frontend emits: packages
// keep them as opaque ops with their declared types, and these kernels run them.
import type { Kernel } from '../kernel.js'
import { shapeText } from '../tensor.js'
import { eachRow, planBroadcast } from './broadcast.js'

type Bool = (a: number, b: number) => boolean
const XY = ['x', 'y']

function logical(f: Bool): Kernel {
  return (k) => {
    const x = k.in('x')
    const y = k.in('y')
    const plan =
      k.memo(XY, () => planBroadcast([x.shape, y.shape])) ??
      k.fail(`cannot broadcast x ${shapeText(x.shape)} with y ${shapeText(y.shape)}`)
    const out = k.alloc('bool', plan.shape)
    const [sx, sy] = plan.strides.map((s) => s[s.length - 1])
    eachRow(plan, (off, oo, n) => {
      for (let i = 0; i < n; i++)
        out.data[oo + i] = f(x.data[off[0] + i * sx], y.data[off[1] + i * sy]) ? 1 : 0
    })
    return [out]
  }
}

/** fill_like(ref_tensor, value): ref_tensor's shape, every element `value`. */
const fill_like: Kernel = (k) => {
  const ref = k.in('ref_tensor')
  const out = k.alloc(k.outDType(), ref.shape)
  out.data.fill(k.opt('value') ? k.float('value') : 0)
  return [out]
}

/** logical_and/or/xor, fill_like. */
export const EXTRA: Record<string, Kernel> = {
  logical_and: logical((a, b) => !!a && !!b),
  logical_or: logical((a, b) => !!a || !!b),
  logical_xor: logical((a, b) => !!a !== !!b),
  fill_like,
}
