// NumPy broadcasting as row iteration: the output is walked one innermost row at a time, each
// operand with its own start offset and inner stride (0 where it broadcasts). Adjacent dims that
// are contiguous for every operand are merged first (size-1 dims dropped), so same-shape and
// scalar cases are one row.

export interface BroadcastPlan {
  readonly shape: number[]
  /** Coalesced output dims (the last is the row). */
  readonly dims: number[]
  /** Per operand, strides over `dims` (0 on broadcast dims). */
  readonly strides: number[][]
}

/** Broadcasts shapes; returns undefined when they clash. */
export function planBroadcast(shapes: readonly (readonly number[])[]): BroadcastPlan | undefined {
  const r = Math.max(1, ...shapes.map((s) => s.length))
  const shape = new Array<number>(r).fill(1)
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = r - s.length + i
      const d = s[i]
      if (shape[o] === 1) shape[o] = d
      else if (d !== 1 && d !== shape[o]) return undefined
    }
  }
  const strides = shapes.map((s) => {
    const st = new Array<number>(r).fill(0)
    let acc = 1
    for (let i = s.length - 1; i >= 0; i--) {
      const o = r - s.length + i
      st[o] = s[i] === 1 ? 0 : acc
      acc *= s[i]
    }
    return st
  })
  // Drop size-1 dims (they move nothing), and merge dim i into the one before when every
  // operand steps through both as one dim. The walk order stays row-major.
  const dims: number[] = []
  const merged = strides.map((): number[] => [])
  for (let i = 0; i < r; i++) {
    if (shape[i] === 1) continue
    const last = dims.length - 1
    if (last >= 0 && strides.every((st, k) => merged[k][last] === st[i] * shape[i])) {
      dims[last] *= shape[i]
      strides.forEach((st, k) => (merged[k][last] = st[i]))
    } else {
      dims.push(shape[i])
      strides.forEach((st, k) => merged[k].push(st[i]))
    }
  }
  if (dims.length === 0) {
    dims.push(1)
    for (const m of merged) m.push(0)
  }
  return { shape, dims, strides: merged }
}

/**
 * Calls `row(offsets, outOffset, n)` for each innermost row: offsets[k] is operand k's start,
 * its inner stride is plan.strides[k].at(-1), and n is the row length.
 */
export function eachRow(
  plan: BroadcastPlan,
  row: (offsets: Int32Array, outOffset: number, n: number) => void,
): void {
  const { dims, strides } = plan
  const r = dims.length
  const n = dims[r - 1]
  const k = strides.length
  const outer = r - 1
  let rows = 1
  for (let i = 0; i < outer; i++) rows *= dims[i]
  if (n === 0 || rows === 0) return
  const offsets = new Int32Array(k)
  if (outer === 0) return row(offsets, 0, n)
  const count = new Int32Array(outer)
  for (let q = 0, out = 0; q < rows; q++, out += n) {
    row(offsets, out, n)
    // odometer step over the outer dims
    for (let d = outer - 1; d >= 0; d--) {
      count[d]++
      for (let j = 0; j < k; j++) offsets[j] += strides[j][d]
      if (count[d] < dims[d]) break
      for (let j = 0; j < k; j++) offsets[j] -= strides[j][d] * dims[d]
      count[d] = 0
    }
  }
}
