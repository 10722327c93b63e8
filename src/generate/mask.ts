// Causal-mask rows (contract §5.3): row i of the C×C mask lets position i see positions j ≤ i.
// Rows are built on demand for the positions being fed, never the whole matrix.

/** `rows` consecutive mask rows starting at position `first`, width `context`: [rows × context]. */
export function causalRows(first: number, rows: number, context: number): Float32Array {
  const m = new Float32Array(rows * context).fill(-Infinity)
  for (let i = 0; i < rows; i++)
    m.fill(0, i * context, i * context + Math.min(first + i + 1, context))
  return m
}

/**
 * An `update_mask` for functions that declare one ([1, 1, R, N]: a 1 at [first + i, i]); ANEMLL's
 * Qwen monolithic infer and Gemma's static-slice prefill take it. Other functions ignore it.
 */
export function updateMask(first: number, rows: number, shape: readonly number[]): Float32Array {
  const r = shape[shape.length - 2]
  const n = shape[shape.length - 1]
  const m = new Float32Array(r * n)
  for (let i = 0; i < Math.min(rows, n); i++) if (first + i < r) m[(first + i) * n + i] = 1
  return m
}
