import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { FormatError } from '../util/errors.js'
import {
  type ModelConfig,
  SUPPORTED_MODEL_TYPES,
  parseModelConfig,
  readModelConfig,
} from './config.js'
import { parseGenerationConfig, readGenerationConfig } from './generation-config.js'
import { SHARED } from '../../test/fixtures/paths.js'

const CONFIGS = fileURLToPath(new URL('../../test/fixtures/checkpoint/configs/', import.meta.url))
const SHARDED = fileURLToPath(new URL('../../test/fixtures/checkpoint/sharded/', import.meta.url))
const read = (name: string) => readModelConfig(join(CONFIGS, name))
const tmp = mkdtempSync(join(tmpdir(), 'anemll-config-'))
const MIN = {
  model_type: 'llama',
  vocab_size: 32,
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
}

/** Asserts a FormatError naming `file` whose message matches every pattern. */
function fails(fn: () => unknown, file: string, ...patterns: RegExp[]) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, String(e))
    assert.equal(e.file, file)
    for (const p of patterns) assert.match(e.message, p)
    return true
  })
}

test('Llama 3.2 1B: llama3 rope_scaling, eos list, explicit head_dim, unknown keys dropped', () => {
  const c = read('llama-3.2-1b-instruct.json')
  assert.equal(c.model_type, 'llama')
  assert.deepEqual(c.rope_scaling, {
    rope_type: 'llama3',
    factor: 32,
    low_freq_factor: 1,
    high_freq_factor: 4,
    original_max_position_embeddings: 8192,
  })
  assert.deepEqual(c.eos_token_id, [128001, 128008, 128009])
  assert.equal(c.head_dim, 64)
  assert.equal(c.tie_word_embeddings, true)
  assert.equal(c.torch_dtype, 'bfloat16')
  assert.ok(!('pretraining_tp' in c) && !('transformers_version' in c) && !('use_cache' in c))
})

test('DeepSeek-R1-Distill-Llama-8B: head_dim defaults to hidden/heads, single eos becomes a list', () => {
  const c = read('deepseek-r1-distill-llama-8b.json')
  assert.equal(c.head_dim, 128)
  assert.deepEqual(c.eos_token_id, [128001])
  assert.equal(c.num_key_value_heads, 8)
  assert.equal(c.rope_scaling?.factor, 8)
  assert.equal(c.tie_word_embeddings, false)
})

test('SmolLM2: pad id, rope_theta, nested unknown keys ignored', () => {
  const c = read('smollm2-135m-instruct.json')
  assert.deepEqual(
    [c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim],
    [576, 9, 3, 64],
  )
  assert.equal(c.pad_token_id, 2)
  assert.equal(c.rope_theta, 100000)
  assert.equal(c.rope_scaling, null)
})

test('Qwen2.5: attention_bias defaults to true, sliding-window keys kept', () => {
  const c = read('qwen2.5-0.5b-instruct.json')
  assert.equal(c.model_type, 'qwen2')
  if (c.model_type !== 'qwen2') return
  assert.equal(c.attention_bias, true)
  assert.equal(c.head_dim, 64)
  assert.deepEqual(
    [c.use_sliding_window, c.sliding_window, c.max_window_layers],
    [false, 32768, 21],
  )
  assert.equal(c.rms_norm_eps, 1e-6)
})

test('Qwen3: head_dim independent of hidden/heads, no bias, null sliding window', () => {
  const c = read('qwen3-0.6b.json')
  assert.equal(c.model_type, 'qwen3')
  if (c.model_type !== 'qwen3') return
  assert.equal(c.head_dim, 128)
  assert.equal(c.hidden_size / c.num_attention_heads, 64)
  assert.equal(c.attention_bias, false)
  assert.equal(c.sliding_window, null)
  assert.equal(c.rope_theta, 1000000)
})

test('stories260K (the shared real model) parses', () => {
  const c = readModelConfig(join(SHARED, 'models/stories260K/config.json'))
  assert.deepEqual(
    [c.hidden_size, c.num_hidden_layers, c.num_key_value_heads, c.vocab_size],
    [64, 5, 4, 512],
  )
  assert.equal(c.rms_norm_eps, 1e-5)
})

test('defaults live in one place and apply when keys are absent', () => {
  const c = parseModelConfig(MIN, 'mem')
  assert.equal(c.num_key_value_heads, 4)
  assert.equal(c.head_dim, 16)
  assert.equal(c.rms_norm_eps, 1e-6)
  assert.equal(c.rope_theta, 10000)
  assert.equal(c.max_position_embeddings, 2048)
  assert.deepEqual([c.tie_word_embeddings, c.attention_bias, c.mlp_bias], [false, false, false])
  assert.deepEqual(
    [c.hidden_act, c.rope_scaling, c.bos_token_id, c.eos_token_id],
    ['silu', null, null, []],
  )
  assert.equal(parseModelConfig({ ...MIN, model_type: 'qwen2' }, 'mem').attention_bias, true)
  assert.equal(
    parseModelConfig({ ...MIN, model_type: 'qwen3' }, 'mem').max_position_embeddings,
    32768,
  )
  assert.equal(parseModelConfig({ ...MIN, head_dim: null }, 'mem').head_dim, 16) // null means absent
})

test('rope_scaling variants: legacy "type" key, default, linear, transformers-5 rope_parameters; others rejected', () => {
  const llama3 = {
    factor: 8,
    low_freq_factor: 1,
    high_freq_factor: 4,
    original_max_position_embeddings: 8192,
  }
  const p = (rope: unknown, extra = {}) =>
    parseModelConfig({ ...MIN, rope_scaling: rope, ...extra }, 'c.json')
  assert.equal(p({ type: 'llama3', ...llama3 }).rope_scaling?.rope_type, 'llama3')
  assert.equal(p({ rope_type: 'default' }).rope_scaling, null)
  assert.deepEqual(p({ rope_type: 'linear', factor: 2 }).rope_scaling, {
    rope_type: 'linear',
    factor: 2,
  })
  fails(
    () => p({ rope_type: 'yarn', factor: 4 }),
    'c.json',
    /rope_scaling.rope_type/,
    /'yarn' is not supported/,
    /default, linear, llama3/,
  )
  fails(
    () => p({ rope_type: 'llama3', factor: 8 }),
    'c.json',
    /rope_scaling.low_freq_factor' is missing/,
  )
  fails(
    () => p({ rope_type: 'llama3', ...llama3, factor: -1 }),
    'c.json',
    /rope_scaling.factor' must be a positive/,
  )
  const v5 = parseModelConfig(
    { ...MIN, rope_parameters: { rope_theta: 1e6, rope_type: 'default' } },
    'c.json',
  )
  assert.deepEqual([v5.rope_theta, v5.rope_scaling], [1e6, null])
})

test('unsupported and missing model_type name the key and list what is supported', () => {
  fails(
    () => parseModelConfig({ ...MIN, model_type: 'mistral' }, 'c.json'),
    'c.json',
    /'model_type'/,
    /'mistral' is not supported/,
    /llama, qwen2, qwen3/,
  )
  fails(
    () => parseModelConfig({ ...MIN, model_type: 'toString' }, 'c.json'),
    'c.json',
    /not supported/,
  )
  fails(() => parseModelConfig({ hidden_size: 4 }, 'c.json'), 'c.json', /'model_type' is missing/)
  fails(() => parseModelConfig([1], 'c.json'), 'c.json', /expected a JSON object/)
  assert.deepEqual(SUPPORTED_MODEL_TYPES, ['llama', 'qwen2', 'qwen3', 'gemma3_text', 'gemma3'])
})

test('bad values: missing, NaN, negative, fractional, wrong type, inconsistent heads', () => {
  const bad = (patch: object, ...re: RegExp[]) =>
    fails(() => parseModelConfig({ ...MIN, ...patch }, 'c.json'), 'c.json', ...re)
  bad({ hidden_size: undefined }, /'hidden_size' is missing/)
  bad({ hidden_size: NaN }, /'hidden_size' must be a positive integer, got NaN/)
  bad({ num_hidden_layers: -3 }, /'num_hidden_layers' must be a positive integer, got -3/)
  bad({ intermediate_size: 10.5 }, /'intermediate_size' must be a positive integer, got 10.5/)
  bad({ vocab_size: '32' }, /'vocab_size' must be a positive integer, got "32"/)
  bad({ rms_norm_eps: 0 }, /'rms_norm_eps' must be a positive finite number/)
  bad({ rope_theta: Infinity }, /'rope_theta' must be a positive finite number, got Infinity/)
  bad({ tie_word_embeddings: 'yes' }, /'tie_word_embeddings' must be true or false/)
  bad({ eos_token_id: [1, -2] }, /'eos_token_id' must be a token id or a list of token ids/)
  bad(
    { hidden_size: 65 },
    /'head_dim' is missing and hidden_size 65 is not divisible by num_attention_heads 4/,
  )
  bad({ num_key_value_heads: 3 }, /num_key_value_heads' 3 does not divide num_attention_heads 4/)
})

test('config files: Python NaN tokens are reported by key; bad JSON and missing files name the file', () => {
  const p = join(tmp, 'config.json')
  writeFileSync(
    p,
    JSON.stringify(MIN).replace('}', ', "rms_norm_eps": NaN, "note": "NaN stays text"}'),
  )
  fails(() => readModelConfig(p), p, /'rms_norm_eps' must be a positive finite number, got NaN/)
  writeFileSync(p, JSON.stringify({ ...MIN, note: 'NaN in a string' }))
  assert.equal(readModelConfig(p).hidden_size, 64)
  writeFileSync(p, '{"model_type": "llama",')
  fails(() => readModelConfig(p), p, /not valid JSON/)
  fails(() => readModelConfig(join(tmp, 'nope.json')), join(tmp, 'nope.json'), /cannot read/)
})

test('generation_config.json: sampling values, eos lists, defaults from the model config', () => {
  const model = readModelConfig(join(SHARDED, 'config.json'))
  const g = readGenerationConfig(join(SHARDED, 'generation_config.json'), model)
  assert.deepEqual(
    [g.temperature, g.top_p, g.do_sample, g.eos_token_id, g.bos_token_id, g.top_k],
    [0.6, 0.9, true, [2, 3], 1, 50],
  )
  const absent = readGenerationConfig(join(tmp, 'missing.json'), model)
  assert.deepEqual(
    [absent.temperature, absent.top_p, absent.eos_token_id, absent.do_sample],
    [1, 1, [2, 3], false],
  )
  assert.deepEqual(
    parseGenerationConfig({ eos_token_id: null }, 'g.json', model).eos_token_id,
    [2, 3],
  )
  assert.deepEqual(parseGenerationConfig({ eos_token_id: 7 }, 'g.json', model).eos_token_id, [7])
  fails(
    () => parseGenerationConfig({ top_p: 1.5 }, 'g.json'),
    'g.json',
    /'top_p' must be a number in \(0, 1\]/,
  )
  fails(
    () => parseGenerationConfig({ temperature: NaN }, 'g.json'),
    'g.json',
    /'temperature' must be a finite number >= 0, got NaN/,
  )
  fails(
    () => parseGenerationConfig({ top_k: -1 }, 'g.json'),
    'g.json',
    /'top_k' must be an integer >= 0/,
  )
  fails(() => parseGenerationConfig('x', 'g.json'), 'g.json', /expected a JSON object/)
})

test('every transcribed config round-trips through JSON unchanged', () => {
  for (const name of [
    'llama-3.2-1b-instruct.json',
    'qwen3-0.6b.json',
    'qwen2.5-0.5b-instruct.json',
  ]) {
    const c: ModelConfig = read(name)
    assert.deepEqual(parseModelConfig(JSON.parse(JSON.stringify(c)), name), c)
    assert.ok(JSON.parse(readFileSync(join(CONFIGS, name), 'utf8')).model_type === c.model_type)
  }
})
