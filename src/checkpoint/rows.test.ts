// Row-range reads equal the same rows of a whole-tensor read (safetensors and GGUF).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { openCheckpoint } from './checkpoint.js'
import { requireFixture, smollm2Gguf } from '../../test/fixtures/paths.js'

const STORIES = join(import.meta.dirname, '../../../shared/models/stories260K')

async function check(path: string, names: string[]) {
  const ckpt = await openCheckpoint(path)
  for (const name of names) {
    const rows = ckpt.tensorInfo(name).shape[0]
    const full = ckpt.readTensor(name)
    const cols = full.length / rows
    for (const [a, b] of [
      [0, 1],
      [3, 11],
      [rows - 5, rows],
    ]) {
      assert.deepEqual(
        ckpt.readTensorRows(name, a, b),
        full.slice(a * cols, b * cols),
        `${name} rows ${a}..${b}`,
      )
    }
    assert.throws(() => ckpt.readTensorRows(name, 0, rows + 1), /outside/)
  }
}

test('safetensors row reads', () =>
  check(STORIES, ['model.embed_tokens.weight', 'model.layers.0.self_attn.q_proj.weight']))

test('GGUF row reads (Q8_0 embeddings, Q4_1 projections, permuted q)', () =>
  check(requireFixture(smollm2Gguf(), 'SmolLM2 GGUF'), [
    'model.embed_tokens.weight',
    'model.layers.0.mlp.up_proj.weight',
    'model.layers.0.self_attn.q_proj.weight',
  ]))
