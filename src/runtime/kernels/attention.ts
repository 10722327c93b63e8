// scaled_dot_product_attention (format doc §6.29): softmax(Q·Kᵀ/√E + mask)·V per batch matrix.
// Batch dims of query/key/value/mask broadcast (a mask [L, S] serves every head).
import { gemm, transpose2d } from '../gemm.js'
import type { Kernel } from '../kernel.js'
import { shapeText, stridesOf } from '../tensor.js'
import { softmaxInto } from './activation.js'

/** For each output batch index, the matrix index into a tensor with batch dims `dims`. */
function batchMap(out: number[], dims: readonly number[]): Int32Array {
  const r = out.length
  const st = stridesOf(dims)
  const os = stridesOf(out)
  const total = out.reduce((a, b) => a * b, 1)
  const map = new Int32Array(total)
  for (let q = 0; q < total; q++) {
    let m = 0
    for (let i = 0; i < r; i++) {
      const j = i - (r - dims.length)
      if (j >= 0 && dims[j] !== 1) m += (Math.floor(q / os[i]) % out[i]) * st[j]
    }
    map[q] = m
  }
  return map
}

const scaled_dot_product_attention: Kernel = (k) => {
  const q = k.in('query')
  const key = k.in('key')
  const v = k.in('value')
  const mask = k.opt('attn_mask')
  const r = q.shape.length
  const [L, E] = q.shape.slice(-2)
  const [S, E2] = key.shape.slice(-2)
  const [S2, EV] = v.shape.slice(-2)
  if (key.shape.length !== r || v.shape.length !== r || E !== E2 || S !== S2)
    k.fail(
      `query ${shapeText(q.shape)}, key ${shapeText(key.shape)}, value ${shapeText(v.shape)} do not fit`,
    )
  const qb = q.shape.slice(0, -2)
  const kb = key.shape.slice(0, -2)
  const vb = v.shape.slice(0, -2)
  const mb = mask ? mask.shape.slice(0, -2) : []
  const batch = qb.map((d, i) => Math.max(d, kb[i], vb[i]))
  for (let i = 0; i < mb.length; i++) {
    const j = batch.length - mb.length + i
    if (j < 0 && mb[i] !== 1) k.fail(`attn_mask ${shapeText(mask!.shape)} has too many batch dims`)
    if (j >= 0) batch[j] = Math.max(batch[j], mb[i])
  }
  const [ML, MS] = mask ? [mask.shape.at(-2) ?? 1, mask.shape.at(-1)!] : [1, S]
  if (mask && ((ML !== 1 && ML !== L) || MS !== S))
    k.fail(`attn_mask ${shapeText(mask.shape)} does not broadcast to [${L}, ${S}]`)
  const out = k.alloc(k.outDType(), [...batch, L, EV])
  const qm = batchMap(batch, qb)
  const km = batchMap(batch, kb)
  const vm = batchMap(batch, vb)
  const mm = mask ? batchMap(batch, mb) : undefined
  const scores = k.scratch(L * S, 0)
  const vt = k.scratch(EV * S, 1)
  const scale = 1 / Math.sqrt(E)
  const boolMask = mask?.dtype === 'bool'
  for (let b = 0; b < qm.length; b++) {
    gemm({
      a: q.data,
      aOff: qm[b] * L * E,
      b: key.data,
      bOff: km[b] * S * E,
      out: scores,
      outOff: 0,
      M: L,
      N: S,
      K: E,
    })
    for (let i = 0; i < L; i++) {
      const mrow = mm ? mm[b] * ML * S + (ML === 1 ? 0 : i * S) : 0
      for (let j = 0; j < S; j++) {
        let s = scores[i * S + j] * scale
        if (mask) s = boolMask ? (mask.data[mrow + j] ? s : -Infinity) : s + mask.data[mrow + j]
        scores[i * S + j] = s
      }
    }
    softmaxInto(scores, scores, [L, S], 1)
    transpose2d(v.data, vm[b] * S * EV, S, EV, vt, 0)
    gemm({
      a: scores,
      aOff: 0,
      b: vt,
      bOff: 0,
      out: out.data,
      outOff: b * L * EV,
      M: L,
      N: EV,
      K: S,
    })
  }
  return [out]
}

/** scaled_dot_product_attention. */
export const ATTENTION: Record<string, Kernel> = { scaled_dot_product_attention }
