import assert from 'node:assert/strict'
import { test } from 'node:test'
import { lutPolicy, WEIGHT_THRESHOLD, type PartLuts } from './policy.js'

const lut4 = { bits: 4, groupSize: 8 } as const
const lut6 = { bits: 6, groupSize: 8 } as const
const lut8 = { bits: 8, groupSize: 0 } as const
const luts: PartLuts = { embeddings: lut8, ffn: lut4, lmHead: lut6 }

test('lutPolicy: each part takes its flag (lut1 embeddings, lut2 FFN and prefill, lut3 head)', () => {
  const proj = [2048, 2048, 1, 1]
  assert.equal(lutPolicy('model.embed_tokens.weight', [128256, 2048], 'embeddings', luts), lut8)
  assert.equal(lutPolicy('model.layers.0.self_attn.q_proj.weight', proj, 'ffn', luts), lut4)
  assert.equal(lutPolicy('model.layers.0.mlp.down_proj.weight', proj, 'prefill', luts), lut4)
  assert.equal(lutPolicy('lm_head.weight', [16032, 2048, 1, 1], 'lm_head', luts), lut6)
  // A tied head reads embed_tokens but is still the head part.
  assert.equal(lutPolicy('model.embed_tokens.weight', [16032, 2048, 1, 1], 'lm_head', luts), lut6)
  assert.equal(
    lutPolicy('model.layers.0.mlp.up_proj.weight', proj, 'ffn', { lmHead: lut6 }),
    undefined,
  )
})

test('lutPolicy: monolithic uses --lut, with embed_tokens / lm_head overrides by name', () => {
  const shape = [4096, 64]
  assert.equal(lutPolicy('model.layers.3.mlp.up_proj.weight', shape, 'monolithic', luts), lut4)
  assert.equal(lutPolicy('model.embed_tokens.weight', shape, 'monolithic', luts), lut8)
  assert.equal(lutPolicy('lm_head.weight', shape, 'monolithic', luts), lut6)
  assert.equal(lutPolicy('lm_head.weight', shape, 'monolithic', { ffn: lut4 }), lut4)
})

test('lutPolicy: 1-D, small (coremltools weight_threshold) and indivisible tensors stay fp16', () => {
  assert.equal(WEIGHT_THRESHOLD, 2048)
  assert.equal(lutPolicy('model.norm.weight', [8192], 'ffn', luts), undefined)
  assert.equal(lutPolicy('model.layers.0.self_attn.q_proj.bias', [4096], 'ffn', luts), undefined)
  assert.equal(lutPolicy('w', [32, 64, 1, 1], 'ffn', luts), undefined) // 2048: not more than
  assert.equal(lutPolicy('w', [8, 257, 1, 1], 'ffn', luts), lut4) // 2056
  assert.equal(lutPolicy('w', [12, 1024, 1, 1], 'ffn', luts), undefined) // 12 % 8
  assert.equal(lutPolicy('w', [12, 1024, 1, 1], 'ffn', { ffn: { bits: 4, groupSize: 0 } })?.bits, 4)
})
