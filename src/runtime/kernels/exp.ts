// exp with every step spelled out, so the native kernels (native/kernels: expDet in C, four lanes
// at a time with AVX2) compute the same double bit for bit: Cody–Waite reduction by ln 2, the
// Taylor polynomial to degree 13 (|r| ≤ ln2/2: error below 2^-52 relative, measured ≤ 2.2e-16
// against libm), and an exact scaling by 2^n. silu and softmax use it, so their native versions can
// run four exps at a time and still equal the TypeScript ones bit for bit (Math.exp is V8's own
// libm).

const LOG2E = 1.4426950408889634
const LN2_HI = 0.6931471803691238 // ln 2 with its low 20 bits zero: n·LN2_HI is exact
const LN2_LO = 1.9082149292705877e-10
const RINT = 6755399441055744 // 1.5·2^52: adding and subtracting it rounds to an integer (ties even)
/** 1/k! for k = 0..13, the nearest doubles. */
const C = [
  1.0, 1.0, 0.5, 0.16666666666666666, 0.041666666666666664, 0.008333333333333333,
  0.001388888888888889, 0.0001984126984126984, 2.48015873015873e-5, 2.7557319223985893e-6,
  2.755731922398589e-7, 2.505210838544172e-8, 2.08767569878681e-9, 1.6059043836821613e-10,
]
/** Above this exp overflows; below EXP_MIN it is 0 (under half the smallest subnormal). */
export const EXP_MAX = 709.782712893384
export const EXP_MIN = -745.2

/** 2^k for k in [-1022, 1023], exact (built by doubling and halving). */
const POW2 = (() => {
  const t = new Float64Array(2046)
  t[1022] = 1
  for (let k = 1; k <= 1023; k++) t[1022 + k] = t[1021 + k] * 2
  for (let k = 1; k <= 1022; k++) t[1022 - k] = t[1023 - k] / 2
  return t
})()
const pow2 = (k: number) => POW2[k + 1022]

/** e^x, the same double as the native kernels' expDet. */
export function expDet(x: number): number {
  if (!(x <= EXP_MAX)) return x !== x ? x : Infinity
  if (x < EXP_MIN) return 0
  const n = x * LOG2E + RINT - RINT
  const r = x - n * LN2_HI - n * LN2_LO
  let p = C[13]
  for (let k = 12; k >= 0; k--) p = p * r + C[k]
  // 2^n in two exact factors when it is not a normal double itself
  if (n > 1023) return p * pow2(1023) * pow2(n - 1023)
  if (n < -1022) return p * pow2(n + 1000) * pow2(-1000)
  return p * pow2(n)
}
