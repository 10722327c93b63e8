// The optional native kernel (native/quant, a C port of kernel.ts that gives the same bytes),
// built by `npm run build:native`. Without it, or with ANEMLL_NATIVE=0, the TypeScript kernel runs.
import { loadAddon } from '../util/native-addon.js'
import { palettizeGroups, type GroupJob, type GroupScratch } from './kernel.js'

interface Addon {
  palettizeGroups(
    src: Uint16Array | Float32Array,
    bits: number,
    groupElems: number,
    g0: number,
    g1: number,
    out: Uint8Array,
    lut: Uint16Array,
    err: Float64Array,
    importance?: Float64Array,
  ): void
}

let addon: Addon | null | undefined

/** The native kernel, or undefined when it is not built (or ANEMLL_NATIVE=0). */
export function nativeKernel(): Addon | undefined {
  if (addon === undefined) addon = loadAddon<Addon>('anemll_quant') ?? null
  return addon ?? undefined
}

/** Which kernel palettize() uses: 'native' or 'typescript'. */
export const kernelName = (): string => (nativeKernel() ? 'native' : 'typescript')

/** Runs groups [g0, g1) of `job` on the native kernel when there is one, else in TypeScript. */
export function runGroups(job: GroupJob, g0: number, g1: number, scratch: GroupScratch): void {
  const k = nativeKernel()
  if (k) {
    const { src, bits, groupElems, out, lut, err, importance } = job
    k.palettizeGroups(src, bits, groupElems, g0, g1, out, lut, err, importance)
  } else palettizeGroups(job, g0, g1, scratch)
}
