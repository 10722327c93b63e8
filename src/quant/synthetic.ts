// Seeded synthetic weights for the palettizer's tests and benchmark: the shapes of distribution LLM
// weights have (Gaussian core, heavy tails, rare outliers, per-channel scales).

/** mulberry32: a small seeded PRNG giving floats in (0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296
  }
}

const normal = (r: () => number) => Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r())

/** Distribution of one weight given the PRNG and its output channel. */
export const DISTRIBUTIONS = {
  gaussian: (r: () => number) => 0.02 * normal(r),
  laplace: (r: () => number) => 0.02 * Math.log(r() / r()),
  /** Student's t with 3 degrees of freedom: heavy tails. */
  studentT: (r: () => number) =>
    (0.01 * normal(r)) / Math.sqrt((normal(r) ** 2 + normal(r) ** 2 + normal(r) ** 2) / 3),
  /** Gaussian with 0.2 % outliers twenty times larger. */
  outliers: (r: () => number) => 0.02 * normal(r) * (r() < 0.002 ? 20 : 1),
} as const

export type Distribution = keyof typeof DISTRIBUTIONS

/**
 * A [rows, cols] weight (row-major) from `dist`; with `rowScales`, each output channel also gets
 * a log-normal scale, as real projections have.
 */
export function syntheticWeight(
  dist: Distribution,
  rows: number,
  cols: number,
  seed: number,
  rowScales = false,
): Float32Array {
  const r = rng(seed)
  const f = DISTRIBUTIONS[dist]
  const w = new Float32Array(rows * cols)
  for (let i = 0; i < rows; i++) {
    const s = rowScales ? Math.exp(0.5 * normal(r)) : 1
    for (let j = 0; j < cols; j++) w[i * cols + j] = s * f(r)
  }
  return w
}
