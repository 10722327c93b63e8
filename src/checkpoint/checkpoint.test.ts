import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { FormatError } from '../util/errors.js'
import { openCheckpoint } from './checkpoint.js'
import { SHARED } from '../../test/fixtures/paths.js'

const STORIES = join(SHARED, 'models/stories260K')
const SHARDED = fileURLToPath(new URL('../../test/fixtures/checkpoint/sharded/', import.meta.url))
const DIGESTS = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../test/fixtures/checkpoint/sharded.json', import.meta.url)),
    'utf8',
  ),
) as Record<string, { shape: number[]; sha256: string; first: number[] }>
const tmp = mkdtempSync(join(tmpdir(), 'anemll-ckpt-'))
const sha = (x: Float32Array) =>
  createHash('sha256')
    .update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))
    .digest('hex')

/** A copy of the sharded fixture, with files replaced (null deletes). */
function shardedCopy(name: string, replace: Record<string, string | Buffer | null> = {}): string {
  const d = join(tmp, name)
  mkdirSync(d)
  for (const f of readdirSync(SHARDED))
    if (!(f in replace)) copyFileSync(join(SHARDED, f), join(d, f))
  for (const [f, text] of Object.entries(replace))
    if (text !== null) writeFileSync(join(d, f), text)
  return d
}

async function rejects(path: string, file: string, re: RegExp) {
  await assert.rejects(openCheckpoint(path), (e: unknown) => {
    assert.ok(e instanceof FormatError, String(e))
    assert.ok(e.file.startsWith(file), `${e.file} vs ${file}`)
    assert.match(e.message, re)
    return true
  })
}

test('stories260K folder: config, generation config, tensors, tokenizer files', async () => {
  const ck = await openCheckpoint(STORIES)
  assert.deepEqual(ck.source, { kind: 'hf', dir: STORIES })
  assert.equal(ck.config.num_hidden_layers, 5)
  assert.deepEqual(ck.generationConfig.eos_token_id, [2])
  assert.equal(ck.generationConfig.max_length, 512)
  assert.equal(ck.tensorNames().length, 47)
  assert.ok(!ck.tensorNames().includes('lm_head.weight'))
  assert.deepEqual(ck.tensorInfo('model.embed_tokens.weight'), {
    dtype: 'F32',
    shape: [512, 64],
    bytes: 512 * 64 * 4,
  })
  const bytes = readFileSync(join(STORIES, 'model.safetensors'))
  const header = JSON.parse(
    bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString(),
  ) as Record<string, { data_offsets: [number, number] }>
  const [a, b] = header['model.layers.2.self_attn.q_proj.weight'].data_offsets
  const base = 8 + Number(bytes.readBigUInt64LE(0))
  const want = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset + base + a, bytes.byteOffset + base + b),
  )
  assert.deepEqual(ck.readTensor('model.layers.2.self_attn.q_proj.weight'), want)
  const tok = ck.tokenizerSource
  assert.equal(tok.kind, 'hf')
  if (tok.kind !== 'hf') return
  assert.equal(tok.tokenizerJson, join(STORIES, 'tokenizer.json'))
  assert.equal(tok.tokenizerConfig, join(STORIES, 'tokenizer_config.json'))
  assert.equal(tok.specialTokensMap, join(STORIES, 'special_tokens_map.json'))
  assert.equal(tok.tokenizerModel, join(STORIES, 'tokenizer.model'))
  assert.equal(tok.chatTemplateJinja, undefined)
})

test('sharded folder: names from the index, bf16 tensors match the safetensors-package digests', async () => {
  const ck = await openCheckpoint(SHARDED)
  assert.deepEqual(ck.tensorNames().sort(), Object.keys(DIGESTS).sort())
  for (const [name, d] of Object.entries(DIGESTS)) {
    const info = ck.tensorInfo(name)
    assert.equal(info.dtype, 'BF16')
    assert.deepEqual(info.shape, d.shape)
    const x = ck.readTensor(name)
    assert.deepEqual([...x.subarray(0, 8)], d.first, name)
    assert.equal(sha(x), d.sha256, name)
  }
  assert.equal(ck.config.rope_scaling?.rope_type, 'llama3')
  assert.deepEqual(
    [ck.generationConfig.temperature, ck.generationConfig.eos_token_id],
    [0.6, [2, 3]],
  )
  assert.throws(() => ck.readTensor('model.nope'), /no tensor named 'model.nope'/)
})

test('bad folders: index pointing outside, to a missing shard, or to a tensor the shard lacks', async () => {
  const index = JSON.parse(readFileSync(join(SHARDED, 'model.safetensors.index.json'), 'utf8')) as {
    weight_map: Record<string, string>
  }
  const withMap = (patch: Record<string, string>) =>
    JSON.stringify({ weight_map: { ...index.weight_map, ...patch } })
  const idx = 'model.safetensors.index.json'
  let d = shardedCopy('escape', {
    [idx]: withMap({ 'model.norm.weight': '../outside.safetensors' }),
  })
  await rejects(d, join(d, idx), /maps to "..\/outside.safetensors", not a .safetensors file name/)
  d = shardedCopy('missing-shard', { 'model-00002-of-00002.safetensors': null })
  await rejects(d, join(d, 'model-00002-of-00002.safetensors'), /cannot open/)
  d = shardedCopy('wrong-shard', {
    [idx]: withMap({ 'model.norm.weight': 'model-00001-of-00002.safetensors' }),
  })
  await rejects(
    d,
    join(d, idx),
    /'model.norm.weight' is mapped to model-00001-of-00002.safetensors, which does not contain it/,
  )
  d = shardedCopy('empty-map', { [idx]: '{"weight_map": {}}' })
  await rejects(d, join(d, idx), /weight_map is empty/)
  d = shardedCopy('no-map', { [idx]: '{"metadata": {}}' })
  await rejects(d, join(d, idx), /'weight_map' object/)
  d = shardedCopy('no-config', { 'config.json': null })
  await rejects(d, join(d, 'config.json'), /cannot read/)
  d = shardedCopy('no-weights', { [idx]: null, 'pytorch_model.bin': 'x' })
  await rejects(
    d,
    d,
    /no model.safetensors or model.safetensors.index.json \(PyTorch .bin weights are not supported\)/,
  )
  d = shardedCopy('truncated', {
    'model-00001-of-00002.safetensors': readFileSync(
      join(SHARDED, 'model-00001-of-00002.safetensors'),
    ).subarray(0, 3000),
  })
  await rejects(d, join(d, 'model-00001-of-00002.safetensors'), /truncated|past the data section/)
})

test('paths that are neither a folder nor a .gguf are refused', async () => {
  await rejects(join(tmp, 'nothing-here'), join(tmp, 'nothing-here'), /no such file or folder/)
  const f = join(tmp, 'weights.bin')
  writeFileSync(f, 'x')
  await rejects(f, f, /expected a Hugging Face model folder or a .gguf file/)
})

test('HF folders read into a reused buffer', async () => {
  const ck = await openCheckpoint(SHARDED)
  const buf = new Float32Array(1024)
  for (const name of ck.tensorNames())
    assert.deepEqual(ck.readTensor(name, buf), ck.readTensor(name), name)
})
