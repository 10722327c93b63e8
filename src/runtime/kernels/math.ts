// Scalar math that JavaScript lacks: erf (for exact gelu) and round-half-to-even.

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI)
const RINT = 6755399441055744 // 1.5 * 2^52

/** Rounds to the nearest integer, ties to even (NumPy's round / rint). */
export function rint(x: number): number {
  if (!(Math.abs(x) < 2 ** 51)) return x // already integral, or NaN/±Infinity
  return x >= 0 ? x + RINT - RINT : -(-x + RINT - RINT)
}

/**
 * The error function to about 1e-14: Maclaurin series below 3.5 (terms stay small enough that
 * cancellation costs under 4 digits), the asymptotic erfc series above (erfc(3.5) ≈ 7e-7).
 */
export function erf(x: number): number {
  if (x !== x) return NaN
  const a = Math.abs(x)
  if (a < 3.5) {
    // erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
    const x2 = a * a
    let term = a
    let sum = a
    for (let n = 1; n < 120; n++) {
      term *= -x2 / n
      const t = term / (2 * n + 1)
      sum += t
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break
    }
    const r = TWO_OVER_SQRT_PI * sum
    return x < 0 ? -r : r
  }
  if (a > 6) return x < 0 ? -1 : 1
  // erfc(x) ≈ e^(-x²)/(x√π) · Σ (-1)^n (2n-1)!! / (2x²)^n, stopped at the smallest term
  const inv = 1 / (2 * a * a)
  let term = 1
  let sum = 1
  for (let n = 1; n < 40; n++) {
    const next = -term * (2 * n - 1) * inv
    if (Math.abs(next) >= Math.abs(term)) break
    term = next
    sum += term
  }
  const erfc = (Math.exp(-a * a) / (a * Math.sqrt(Math.PI))) * sum
  return x < 0 ? erfc - 1 : 1 - erfc
}
