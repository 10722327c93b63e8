// Checkpoint tensors as graph constants. Values load lazily while the package is written, and the
// same tensor used by several functions (infer and prefill) is one object, so it is read,
// quantized and stored once.
import type { Checkpoint } from '../checkpoint/checkpoint.js'
import { floatsToHalfs } from '../util/fp16.js'
import { tensor } from '../mil/types.js'
import type { LazyData, TensorValue } from '../mil/value.js'

/** LUT settings for one weight: `bits` per index, `groupSize` output channels per LUT (0 = one LUT). */
export interface LutSpec {
  bits: number
  groupSize: number
}

/** Result of palettizing one weight (see src/quant). */
export interface Palettized {
  indices: TensorValue
  lut: TensorValue
  sqnrDb: number
}

export type Quantizer = (
  values: Float32Array,
  shape: number[],
  spec: LutSpec,
  name: string,
  /** Per input channel k-means weights (calibration), or undefined for data-free k-means. */
  importance?: Float64Array,
) => Palettized

/** A weight as the graph sees it: dense fp16, or LUT indices + table. */
export type GraphWeight =
  | { kind: 'dense'; value: TensorValue }
  | { kind: 'lut'; indices: TensorValue; lut: TensorValue; spec: LutSpec }

export interface QuantReport {
  name: string
  shape: number[]
  bits: number
  groupSize: number
  sqnrDb: number
}

/** Hands out weights by Hugging Face name, reshaped, in fp16 or palettized. */
export class WeightBank {
  readonly #cache = new Map<string, GraphWeight>()
  /** SQNR of every palettized weight, filled in as the package is written. */
  readonly quantReports: QuantReport[] = []
  /** Calibration: per checkpoint weight, its input channels' importance (convert/calibrate.ts). */
  importance?: Map<string, Float64Array>

  constructor(
    readonly ckpt: Checkpoint,
    readonly quantize?: Quantizer,
    /** Decides per weight whether a requested LUT applies (coremltools skips small or odd-shaped ones). */
    readonly lutFilter: (name: string, shape: number[], spec: LutSpec) => LutSpec | undefined = (
      _n,
      _s,
      spec,
    ) => spec,
  ) {}

  has(name: string): boolean {
    return this.ckpt.tensorNames().includes(name)
  }

  /** Source shape of a checkpoint tensor. */
  shapeOf(name: string): number[] {
    return this.ckpt.tensorInfo(name).shape
  }

  /**
   * The weight `name` viewed with `shape` (same element count, row-major, no transpose), or a
   * row range of it (`rows`: [start, end) of axis 0) for split LM heads; values (w + offset) · scale.
   */
  get(
    name: string,
    shape: number[],
    lut?: LutSpec,
    rows?: [number, number],
    scale = 1,
    offset = 0,
  ): GraphWeight {
    const key = `${name}|${shape.join(',')}|${lut ? `${lut.bits},${lut.groupSize}` : 'fp16'}|${rows ?? ''}|${scale}${offset ? `|+${offset}` : ''}`
    const hit = this.#cache.get(key)
    if (hit) return hit
    const src = this.shapeOf(name)
    const cols = src.slice(1).reduce((a, b) => a * b, 1)
    const scaled = (x: Float32Array) =>
      scale === 1 && offset === 0 ? x : x.map((v) => (v + offset) * scale)
    const base = rows?.[0] ?? 0
    const rowReader: RowReader = {
      cols,
      read: (a, b) => scaled(this.ckpt.readTensorRows(name, base + a, base + b)),
    }
    const read = () =>
      rows ? rowReader.read(0, rows[1] - rows[0]) : scaled(this.ckpt.readTensor(name))
    const spec = lut && this.quantize ? this.lutFilter(name, shape, lut) : undefined
    const w = spec ? this.#lut(name, shape, spec, read) : dense(shape, read, key, rowReader)
    this.#cache.set(key, w)
    return w
  }

  #lut(name: string, shape: number[], spec: LutSpec, read: () => Float32Array): GraphWeight {
    const groups = spec.groupSize > 0 ? shape[0] / spec.groupSize : 1
    const lutShape = [groups, ...shape.slice(1).map(() => 1), 2 ** spec.bits, 1]
    // Palettized once, when the first of indices/lut is written; dropped once both were taken.
    let memo: Palettized | undefined
    let taken = 0
    const get = () => {
      if (!memo) {
        // Only projections (1×1 convs, rank 4) have measured inputs: a tied head's embeddings
        // used by gather (rank 2) keep data-free k-means.
        const imp = shape.length === 4 ? this.importance?.get(name) : undefined
        memo = this.quantize!(read(), shape, spec, name, imp)
        this.quantReports.push({
          name,
          shape,
          bits: spec.bits,
          groupSize: spec.groupSize,
          sqnrDb: memo.sqnrDb,
        })
      }
      const m = memo
      if (++taken % 2 === 0) memo = undefined
      return m
    }
    const lazy = (pick: (p: Palettized) => TensorValue): LazyData => ({
      lazy: true,
      load: () => {
        const d = pick(get()).data
        if ('lazy' in d) return d.load()
        return d
      },
    })
    return {
      kind: 'lut',
      spec,
      indices: { type: tensor(`uint${spec.bits}` as 'uint4', shape), data: lazy((p) => p.indices) },
      lut: { type: tensor('fp16', lutShape), data: lazy((p) => p.lut) },
    }
  }
}

/** Rows per streamed piece of a large dense weight (~32 MiB of fp32 at a time). */
const STREAM_ELEMENTS = 8 << 20

function dense(
  shape: number[],
  read: () => Float32Array,
  key: string,
  rows: RowReader,
): GraphWeight {
  const data: LazyData = {
    lazy: true,
    key: `ckpt:${key}`,
    load: () => floatsToHalfs(read()),
    // Large tensors stream in row blocks, never whole in memory.
    ...(shape[0] * rows.cols > STREAM_ELEMENTS
      ? {
          *chunks() {
            const step = Math.max(1, Math.floor(STREAM_ELEMENTS / rows.cols))
            for (let r = 0; r < shape[0]; r += step)
              yield floatsToHalfs(rows.read(r, Math.min(shape[0], r + step)))
          },
        }
      : {}),
  }
  return { kind: 'dense', value: { type: tensor('fp16', shape), data } }
}

/** Reads rows [start, end) of a tensor (axis 0) as float32. */
interface RowReader {
  cols: number
  read(start: number, end: number): Float32Array
}
