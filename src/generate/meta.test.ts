import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FormatError, UsageError } from '../util/errors.js'
import { chunkName, parseMeta, readMeta, resolveParts } from './meta.js'

// The filled 0.3.4 example of the ANEMLL contract (§1.9): Qwen3-0.6B, LUT6, one chunk.
const V034 = `model_info:
  name: anemll-Qwen-Qwen3-0.6B-ctx512
  version: 0.3.4
  description: |
    Demonstarates running Qwen-Qwen3-0.6B on Apple Neural Engine
    Context length: 512
    Batch size: 64
    Chunks: 1
  license: MIT
  author: Anemll
  framework: Core ML
  language: Python
  architecture: qwen3
  parameters:
    context_length: 512
    batch_size: 64
    lut_embeddings: none
    lut_ffn: 6
    lut_lmhead: 6
    num_chunks: 1
    model_prefix: qwen
    embeddings: qwen_embeddings.mlmodelc
    lm_head: qwen_lm_head_lut6.mlmodelc
    ffn: qwen_FFN_PF_lut6.mlmodelc
    split_lm_head: 16
`

// 0.3.5 chunked (§1.6): ffn names chunk 01, argmax head with chunk sizes, dynamic prefill.
const V035 = `model_info:
  name: anemll-m-ctx256
  version: 0.3.5
  architecture: llama
  parameters:
    context_length: 256
    batch_size: 32
    lut_embeddings: none
    lut_ffn: 4
    lut_lmhead: 6
    num_chunks: 2
    model_prefix: llama
    embeddings: llama_embeddings.mlmodelc
    lm_head: llama_lm_head_lut6.mlmodelc
    ffn: llama_FFN_PF_lut4_chunk_01of02.mlmodelc
    split_lm_head: 8
    vocab_size: 1000
    lm_head_chunk_sizes: [125, 125, 125, 125, 125, 125, 125, 125]
    argmax_in_model: true
    prefill_dynamic_slice: true

# Conversion Parameters (for troubleshooting)
# context_length: 256
`

const MONO = `model_info:
  name: anemll-m-ctx512-monolithic
  version: 0.3.5
  model_type: monolithic
  parameters:
    context_length: 512
    batch_size: 64
    lut_bits: 4
    model_prefix: qwen
    monolithic_model: qwen_monolithic_full_lut4.mlmodelc
    split_lm_head: 16
    prefill_dynamic_slice: true
    functions: [infer, prefill]
`

test('0.3.4 meta.yaml: parameters, names as written, token-by-token prefill', () => {
  const m = parseMeta(V034, '/m/meta.yaml')
  assert.equal(m.version, '0.3.4')
  assert.deepEqual(
    [m.context, m.batch, m.chunks, m.prefix, m.splitLmHead, m.argmax, m.monolithic],
    [512, 64, 1, 'qwen', 16, false, false],
  )
  assert.equal(m.batchPrefill, false, '0.3.4 files lack prefill_dynamic_slice')
  assert.deepEqual(m.names, {
    embeddings: 'qwen_embeddings.mlmodelc',
    lmHead: 'qwen_lm_head_lut6.mlmodelc',
    ffn: 'qwen_FFN_PF_lut6.mlmodelc',
  })
  assert.equal(m.tokenizerDir, '/m')
})

test('0.3.5 meta.yaml: argmax sizes, dynamic prefill; monolithic', () => {
  const m = parseMeta(V035, '/m/meta.yaml')
  assert.equal(m.argmax, true)
  assert.equal(m.batchPrefill, true)
  assert.equal(m.vocabSize, 1000)
  assert.deepEqual(m.lmHeadChunkSizes, new Array(8).fill(125))
  const mono = parseMeta(MONO, '/m/meta.yaml')
  assert.equal(mono.monolithic, true)
  assert.deepEqual(mono.names, { monolithic: 'qwen_monolithic_full_lut4.mlmodelc' })
})

test('names rebuilt from prefix and LUT bits when meta.yaml omits them (Python runtime)', () => {
  const text = V034.split('\n')
    .filter((l) => !/^ {4}(embeddings|lm_head|ffn):/.test(l))
    .join('\n')
  const m = parseMeta(text, '/m/meta.yaml')
  assert.deepEqual(m.names, {
    embeddings: 'qwen_embeddings',
    lmHead: 'qwen_lm_head_lut6',
    ffn: 'qwen_FFN_PF_lut6',
  })
})

test('chunk names: 0.3.5 rewrites the chunk suffix, 0.3.4 adds it', () => {
  assert.equal(
    chunkName('a_FFN_PF_lut4_chunk_01of02.mlmodelc', 2, 2),
    'a_FFN_PF_lut4_chunk_02of02.mlmodelc',
  )
  assert.equal(chunkName('a_FFN_PF_lut6.mlmodelc', 1, 1), 'a_FFN_PF_lut6_chunk_01of01.mlmodelc')
  assert.equal(chunkName('a_FFN_PF', 3, 12), 'a_FFN_PF_chunk_03of12')
})

test('malformed meta.yaml: one FormatError naming the key', () => {
  const drop = (key: string) =>
    V034.split('\n')
      .filter((l) => !l.includes(`${key}:`))
      .join('\n')
  assert.throws(() => parseMeta(drop('context_length'), 'x.yaml'), /context_length is missing/)
  assert.throws(
    () => parseMeta(V034.replace('batch_size: 64', 'batch_size: -2'), 'x.yaml'),
    FormatError,
  )
  assert.throws(
    () => parseMeta(V034.replace('batch_size: 64', 'batch_size: 1024'), 'x.yaml'),
    /larger than/,
  )
  assert.throws(() => parseMeta('model_info: [1', 'x.yaml'), /not valid YAML/)
  assert.throws(() => parseMeta('a: 1', 'x.yaml'), /no model_info/)
})

test('parts resolve as .mlmodelc, then .mlpackage; the LUT-less embeddings fallback', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anemll-meta-'))
  try {
    writeFileSync(join(dir, 'meta.yaml'), V035)
    for (const f of [
      'llama_embeddings.mlpackage',
      'llama_lm_head_lut6.mlmodelc',
      'llama_lm_head_lut6.mlpackage',
      'llama_FFN_PF_lut4_chunk_01of02.mlpackage',
    ])
      mkdirSync(join(dir, f))
    const m = readMeta(dir)
    assert.throws(
      () => resolveParts(m),
      /FFN chunk 2: neither llama_FFN_PF_lut4_chunk_02of02\.mlmodelc/,
    )
    mkdirSync(join(dir, 'llama_FFN_PF_lut4_chunk_02of02.mlpackage'))
    const p = resolveParts(m)
    assert.equal(p.kind, 'chunked')
    if (p.kind !== 'chunked') return
    assert.equal(p.embeddings, join(dir, 'llama_embeddings.mlpackage'))
    assert.equal(p.lmHead, join(dir, 'llama_lm_head_lut6.mlmodelc'), '.mlmodelc wins')
    assert.deepEqual(p.chunks, [
      join(dir, 'llama_FFN_PF_lut4_chunk_01of02.mlpackage'),
      join(dir, 'llama_FFN_PF_lut4_chunk_02of02.mlpackage'),
    ])
    // embeddings named with a LUT suffix that was not made: the plain name is used
    writeFileSync(
      join(dir, 'meta.yaml'),
      V035.replace('llama_embeddings.mlmodelc', 'llama_embeddings_lut8.mlmodelc'),
    )
    const q = resolveParts(readMeta(join(dir, 'meta.yaml')))
    assert.equal(q.kind === 'chunked' && q.embeddings, join(dir, 'llama_embeddings.mlpackage'))
    assert.throws(() => readMeta(join(dir, 'nope')), UsageError)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("a part missing under meta.yaml's name resolves to the one file of its role, else lists them", () => {
  const dir = mkdtempSync(join(tmpdir(), 'anemll-meta-'))
  try {
    // as ANEMLL's generate_meta_yaml.py writes on Linux: compiled names that were never made, and
    // lut_lmhead none for a LUT6 head
    writeFileSync(
      join(dir, 'meta.yaml'),
      V035.replace('lm_head: llama_lm_head_lut6.mlmodelc', 'lm_head: llama_lm_head.mlmodelc'),
    )
    for (const f of [
      'llama_embeddings.mlpackage',
      'llama_lm_head_lut6.mlpackage',
      'llama_FFN_PF_lut4_chunk_01of02.mlpackage',
      'llama_FFN_PF_lut4_chunk_02of02.mlpackage',
      'qwen_lm_head.mlpackage', // another prefix: not a candidate
    ])
      mkdirSync(join(dir, f))
    const p = resolveParts(readMeta(dir))
    assert.equal(p.kind === 'chunked' && p.lmHead, join(dir, 'llama_lm_head_lut6.mlpackage'))
    assert.equal(p.notes.length, 1)
    assert.match(
      p.notes[0],
      /meta\.yaml: LM head: neither llama_lm_head\.mlmodelc nor llama_lm_head\.mlpackage exists; using llama_lm_head_lut6\.mlpackage/,
    )
    // a compiled twin of the same part is the same candidate (.mlmodelc wins)
    mkdirSync(join(dir, 'llama_lm_head_lut6.mlmodelc'))
    const q = resolveParts(readMeta(dir))
    assert.equal(q.kind === 'chunked' && q.lmHead, join(dir, 'llama_lm_head_lut6.mlmodelc'))
    // two heads: ambiguous, both named
    mkdirSync(join(dir, 'llama_lm_head_lut4.mlpackage'))
    assert.throws(
      () => resolveParts(readMeta(dir)),
      (e: Error) =>
        e instanceof FormatError &&
        /2 files could be it: llama_lm_head_lut4\.mlpackage, llama_lm_head_lut6\.mlmodelc/.test(
          e.message,
        ),
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
