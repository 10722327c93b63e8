import { test } from 'node:test'
import assert from 'node:assert/strict'
import { makeTensor } from '../runtime/index.js'
import { argmaxChunkSizes, combineArgmax, concatLogits, logitNames } from './head.js'

test('split logits concatenate in numeric order (logits10 after logits9)', () => {
  const names = logitNames(['logits10', 'logits2', 'logits1', 'logits9', 'other'], 'h')
  assert.deepEqual(names, ['logits1', 'logits2', 'logits9', 'logits10'])
  const out = Object.fromEntries(
    names.map((n, i) => [n, makeTensor('fp16', [1, 1, 2], [i * 2, i * 2 + 1])]),
  )
  assert.deepEqual(Array.from(concatLogits(out, names)), [0, 1, 2, 3, 4, 5, 6, 7])
  assert.deepEqual(logitNames(['output_logits'], 'h'), ['output_logits'])
  assert.throws(() => logitNames(['x'], 'h'), /no logits outputs/)
})

test('argmax: the best chunk by value (lowest chunk on a tie) plus its offset', () => {
  const sizes = [10, 10, 9, 9]
  assert.deepEqual(combineArgmax([3, 7, 0, 8], [1, 5, 2, 4], sizes), { token: 17, value: 5 })
  assert.deepEqual(combineArgmax([3, 7, 0, 8], [5, 5, 2, 5], sizes), { token: 3, value: 5 })
  assert.deepEqual(combineArgmax([3, 7, 0, 8], [1, 2, 3, 4], sizes), { token: 37, value: 4 })
})

test('argmax chunk sizes: meta list, then model metadata, then the vocabulary split', () => {
  assert.deepEqual(argmaxChunkSizes(2, { metaSizes: [3, 4] }, 'f'), [3, 4])
  const metadata = { 'com.anemll.lm_head_chunk_sizes': '5,5', 'com.anemll.vocab_size': '9' }
  assert.deepEqual(argmaxChunkSizes(2, { metaSizes: [1, 2, 3], metadata }, 'f'), [5, 5])
  // Qwen's rule: V div K, the first V mod K chunks one larger
  assert.deepEqual(
    argmaxChunkSizes(4, { vocabSize: 151936 + 2 }, 'f'),
    [37985, 37985, 37984, 37984],
  )
  assert.deepEqual(argmaxChunkSizes(2, { metadata: { 'com.anemll.vocab_size': '9' } }, 'f'), [5, 4])
  assert.throws(() => argmaxChunkSizes(2, {}, 'f'), /chunk sizes unknown/)
})
