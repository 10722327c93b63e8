import { findGgufArch } from '../arch/registry.js'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import {
  type Kv,
  type TensorSpec,
  buildGguf,
  f32Bytes,
  kvF32,
  kvStr,
  kvU32,
} from '../../test/fixtures/checkpoint/gguf-builder.js'
import { readGguf, readGgufTensor } from '../formats/gguf.js'
import { FormatError } from '../util/errors.js'
import { openCheckpoint } from './checkpoint.js'
import { hfTensorName, openGgufCheckpoint, unpermuteRows } from './gguf-import.js'
import { llama3RopeFactors } from './llama3-rope.js'

const FIX = fileURLToPath(new URL('../../test/fixtures/checkpoint/', import.meta.url))
const TINY = JSON.parse(readFileSync(join(FIX, 'tiny.json'), 'utf8')) as Record<
  string,
  {
    hidden: number
    heads: number
    kv: number
    head_dim: number
    ff: number
    vocab: number
    theta: number
    rope?: { factor: number; low: number; high: number }
  }
>
const tmp = mkdtempSync(join(tmpdir(), 'anemll-ggufimp-'))
let n = 0

/** A minimal valid llama GGUF (hidden 8, 2 heads), with extra or replaced kvs and tensors. */
function llamaGguf(o: { kvs?: Kv[]; tensors?: TensorSpec[]; arch?: string } = {}): string {
  const arch = o.arch ?? 'llama'
  const base: Kv[] = [
    kvStr('general.architecture', arch),
    kvU32(`${arch}.block_count`, 1),
    kvU32(`${arch}.embedding_length`, 8),
    kvU32(`${arch}.feed_forward_length`, 16),
    kvU32(`${arch}.attention.head_count`, 2),
  ]
  const keys = new Set((o.kvs ?? []).map((k) => k.key))
  const kvs = [...base.filter((k) => !keys.has(k.key)), ...(o.kvs ?? [])]
  const embd: TensorSpec = {
    name: 'token_embd.weight',
    dims: [8, 4],
    type: 0,
    data: f32Bytes(new Array(32).fill(0.5)),
  }
  const p = join(tmp, `m${n++}.gguf`)
  writeFileSync(p, buildGguf({ kvs, tensors: [embd, ...(o.tensors ?? [])] }))
  return p
}

function fails(fn: () => unknown, file: string, ...patterns: RegExp[]) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, String(e))
    assert.ok(e.message.includes(file), e.message)
    for (const p of patterns) assert.match(e.message, p)
    return true
  })
}

test('unpermuteRows inverts the converter permutation: GGUF rows [r0, r2, r1, r3] → [r0, r1, r2, r3]', () => {
  // One head of 4 rows, 2 columns: HF rows r0..r3 become r0, r2, r1, r3 in GGUF.
  const gguf = new Float32Array([0, 0.5, 2, 2.5, 1, 1.5, 3, 3.5])
  assert.deepEqual([...unpermuteRows(gguf, 4, 1)], [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5])
  // Two heads of 4 rows each, as a 1-D bias.
  assert.deepEqual(
    [...unpermuteRows(new Float32Array([0, 2, 1, 3, 4, 6, 5, 7]), 8, 2)],
    [0, 1, 2, 3, 4, 5, 6, 7],
  )
})

test('tensor names map to Hugging Face names; unknown ones do not', () => {
  const [llama, qwen3] = ['llama', 'qwen3'].map((n) => {
    const a = findGgufArch(n)
    assert.ok(a, n)
    return a
  })
  assert.equal(hfTensorName(llama, 'token_embd.weight'), 'model.embed_tokens.weight')
  assert.equal(hfTensorName(llama, 'output.weight'), 'lm_head.weight')
  assert.equal(
    hfTensorName(llama, 'blk.12.attn_output.weight'),
    'model.layers.12.self_attn.o_proj.weight',
  )
  assert.equal(hfTensorName(llama, 'blk.0.attn_q.bias'), 'model.layers.0.self_attn.q_proj.bias')
  assert.equal(
    hfTensorName(llama, 'blk.3.ffn_norm.weight'),
    'model.layers.3.post_attention_layernorm.weight',
  )
  assert.equal(hfTensorName(llama, 'blk.0.attn_qkv.weight'), undefined)
  assert.equal(hfTensorName(llama, 'blk.0.constructor.weight'), undefined)
  assert.equal(hfTensorName(llama, 'toString.weight'), undefined)
  // q/k norms are Qwen3's: a llama GGUF carrying them is refused at import.
  assert.equal(hfTensorName(llama, 'blk.0.attn_q_norm.weight'), undefined)
  assert.equal(
    hfTensorName(qwen3, 'blk.0.attn_q_norm.weight'),
    'model.layers.0.self_attn.q_norm.weight',
  )
})

test('llama GGUF (v2): config from metadata, Q and K unpermuted, V and the rest untouched', async () => {
  const path = join(FIX, 'v2.gguf')
  const t = TINY.v2
  const ck = await openCheckpoint(path)
  const c = ck.config
  assert.equal(c.model_type, 'llama')
  assert.deepEqual(
    [
      c.hidden_size,
      c.num_attention_heads,
      c.num_key_value_heads,
      c.head_dim,
      c.intermediate_size,
      c.vocab_size,
    ],
    [t.hidden, t.heads, t.kv, t.head_dim, t.ff, t.vocab],
  )
  assert.deepEqual(
    [c.rms_norm_eps, c.rope_theta, c.tie_word_embeddings, c.rope_scaling],
    [1e-6, t.theta, true, null],
  )
  assert.deepEqual([c.bos_token_id, c.eos_token_id], [1, [2, 3]]) // eos plus eot
  assert.equal(ck.tokenizerSource.kind, 'gguf')
  const g = readGguf(path)
  const raw = (name: string) =>
    readGgufTensor(
      g,
      g.tensors.find((x) => x.name === name)!,
    )
  const q = raw('blk.0.attn_q.weight')
  assert.deepEqual(
    ck.readTensor('model.layers.0.self_attn.q_proj.weight'),
    unpermuteRows(q, t.heads * t.head_dim, t.heads),
  )
  assert.notDeepEqual(ck.readTensor('model.layers.0.self_attn.q_proj.weight'), q)
  const k = raw('blk.0.attn_k.weight')
  assert.deepEqual(
    ck.readTensor('model.layers.0.self_attn.k_proj.weight'),
    unpermuteRows(k, t.kv * t.head_dim, t.kv),
  )
  assert.deepEqual(
    ck.readTensor('model.layers.0.self_attn.v_proj.weight'),
    raw('blk.0.attn_v.weight'),
  )
  assert.deepEqual(ck.tensorInfo('model.layers.0.self_attn.k_proj.weight'), {
    dtype: 'F32',
    shape: [t.kv * t.head_dim, t.hidden],
    bytes: t.kv * t.head_dim * t.hidden * 4,
  })
  assert.equal(ck.tensorNames().length, 11)
})

test('qwen2 GGUF: biases mapped, attention_bias true, no permutation', async () => {
  const path = join(FIX, 'qwen2-tiny.gguf')
  const ck = await openCheckpoint(path)
  assert.equal(ck.config.model_type, 'qwen2')
  assert.equal(ck.config.attention_bias, true)
  assert.ok(ck.tensorNames().includes('model.layers.0.self_attn.k_proj.bias'))
  const g = readGguf(path)
  const raw = (name: string) =>
    readGgufTensor(
      g,
      g.tensors.find((x) => x.name === name)!,
    )
  assert.deepEqual(
    ck.readTensor('model.layers.0.self_attn.q_proj.weight'),
    raw('blk.0.attn_q.weight'),
  )
  assert.deepEqual(ck.readTensor('model.layers.0.self_attn.q_proj.bias'), raw('blk.0.attn_q.bias'))
})

test('qwen3 GGUF: head_dim from key_length, q/k norms mapped', async () => {
  const ck = await openCheckpoint(join(FIX, 'qwen3-tiny.gguf'))
  const t = TINY['qwen3-tiny']
  assert.equal(ck.config.model_type, 'qwen3')
  assert.equal(ck.config.head_dim, t.head_dim)
  assert.notEqual(t.head_dim, t.hidden / t.heads)
  assert.deepEqual(ck.tensorInfo('model.layers.0.self_attn.q_norm.weight').shape, [t.head_dim])
  assert.deepEqual(ck.tensorInfo('model.layers.0.self_attn.q_proj.weight').shape, [
    t.heads * t.head_dim,
    t.hidden,
  ])
})

test('Llama 3.1 / 3.2 rope_freqs tensors give back the llama3 rope_scaling they were made from', async () => {
  for (const name of ['rope-llama31', 'rope-llama32']) {
    const ck = await openCheckpoint(join(FIX, `${name}.gguf`))
    const r = TINY[name].rope!
    assert.deepEqual(ck.config.rope_scaling, {
      rope_type: 'llama3',
      factor: r.factor,
      low_freq_factor: r.low,
      high_freq_factor: r.high,
      original_max_position_embeddings: 8192,
    })
    assert.ok(!ck.tensorNames().some((x) => x.includes('rope_freqs')))
  }
})

test('importer errors name the file and the problem', () => {
  let p = llamaGguf({ arch: 'gpt2' })
  fails(
    () => openGgufCheckpoint(p),
    p,
    /architecture 'gpt2' is not supported \(supported: llama, qwen2, qwen3\)/,
  )
  p = llamaGguf({
    tensors: [
      { name: 'blk.0.attn_q.weight', dims: [256, 8], type: 10, data: new Uint8Array(84 * 8) },
    ],
  })
  fails(
    () => openGgufCheckpoint(p),
    p,
    /'blk.0.attn_q.weight' is Q2_K, which is not supported \(supported: F32, .*Q6_K, BF16\)/,
  )
  p = llamaGguf({
    tensors: [
      { name: 'blk.0.attn_qkv.weight', dims: [8], type: 0, data: f32Bytes(new Array(8).fill(0)) },
    ],
  })
  fails(
    () => openGgufCheckpoint(p),
    p,
    /'blk.0.attn_qkv.weight' has no Hugging Face equivalent \(known: token_embd/,
  )
  p = llamaGguf({ kvs: [kvStr('llama.embedding_length', 'eight')] })
  fails(() => openGgufCheckpoint(p), p, /metadata 'llama.embedding_length' should be a number/)
  const noHeads = join(tmp, 'noheads.gguf')
  writeFileSync(noHeads, buildGguf({ kvs: [kvStr('general.architecture', 'llama')] }))
  fails(
    () => openGgufCheckpoint(noHeads),
    noHeads,
    /metadata 'llama.attention.head_count' is missing/,
  )
  p = llamaGguf({ kvs: [kvU32('llama.rope.dimension_count', 2)] })
  fails(() => openGgufCheckpoint(p), p, /partial rotary/)
  p = llamaGguf({ kvs: [kvStr('llama.rope.scaling.type', 'yarn')] })
  fails(() => openGgufCheckpoint(p), p, /rope scaling type 'yarn' is not supported/)
  p = llamaGguf({
    tensors: [{ name: 'rope_freqs.weight', dims: [2], type: 0, data: f32Bytes([3, 1]) }],
  })
  fails(() => openGgufCheckpoint(p), p, /rope_freqs.weight does not start at 1/)
  p = llamaGguf({ kvs: [kvF32('llama.attention.layer_norm_rms_epsilon', NaN)] })
  fails(() => openGgufCheckpoint(p), p, /'rms_norm_eps' must be a positive finite number, got NaN/)
})

test('rope_freqs: linear scaling metadata and all-ones tensors', async () => {
  let p = llamaGguf({
    kvs: [kvStr('llama.rope.scaling.type', 'linear'), kvF32('llama.rope.scaling.factor', 4)],
  })
  assert.deepEqual((await openCheckpoint(p)).config.rope_scaling, {
    rope_type: 'linear',
    factor: 4,
  })
  p = llamaGguf({
    tensors: [{ name: 'rope_freqs.weight', dims: [2], type: 0, data: f32Bytes([1, 1]) }],
  })
  assert.equal((await openCheckpoint(p)).config.rope_scaling, null)
  const s = {
    rope_type: 'llama3',
    factor: 8,
    low_freq_factor: 1,
    high_freq_factor: 4,
    original_max_position_embeddings: 8192,
  } as const
  assert.deepEqual(llama3RopeFactors(s, 500000, 8).slice(0, 1), [1])
})

test('readTensor into a reused buffer equals a fresh read, permuted tensors included', async () => {
  const ck = await openCheckpoint(join(FIX, 'v2.gguf'))
  const buf = new Float32Array(4096)
  for (const name of ck.tensorNames())
    assert.deepEqual(ck.readTensor(name, buf), ck.readTensor(name), name)
})
