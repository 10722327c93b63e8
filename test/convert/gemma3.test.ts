// Gemma 3 as far as it is converted today: its config mapping (text_config unwrap, Gemma's key
// names and defaults, refusals) and meta.yaml. Logits against transformers, past the sliding
// window: test/fidelity/hf-goldens.test.ts; the fp16 remedy: test/convert/preflight.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseModelConfig } from '../../src/checkpoint/config.js'
import { convert, convertOptions } from '../../src/convert/pipeline.js'
import { FormatError } from '../../src/util/errors.js'

const TINY = join(import.meta.dirname, '../fixtures/tiny/gemma3')
const tmp = mkdtempSync(join(tmpdir(), 'anemll-gemma3-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))
const text = JSON.parse(readFileSync(join(TINY, 'config.json'), 'utf8')) as Record<string, unknown>

test('a multimodal gemma3 config unwraps to its text model; Gemma keys and defaults', () => {
  const { model_type: _t, layer_types: _l, hidden_act: _a, hidden_activation: _h, ...keys } = text
  const cfg = parseModelConfig(
    {
      model_type: 'gemma3',
      architectures: ['Gemma3ForConditionalGeneration'],
      text_config: { ...keys, model_type: 'gemma3_text', sliding_window_pattern: 2 },
      vision_config: { hidden_size: 1152 },
    },
    'config.json',
  )
  assert.equal(cfg.model_type, 'gemma3')
  assert.equal(cfg.hidden_size, 64)
  // layer_types from the older sliding_window_pattern: every 2nd layer global.
  assert.deepEqual((cfg as { layer_types: string[] }).layer_types, [
    'sliding_attention',
    'full_attention',
    'sliding_attention',
  ])
  // hidden_activation absent: transformers' default, tanh GELU.
  assert.equal(cfg.hidden_act, 'gelu_pytorch_tanh')
  assert.equal((cfg as { query_pre_attn_scalar: number }).query_pre_attn_scalar, 24)
})

test('Gemma math we do not compute is refused, naming the key', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ final_logit_softcapping: 30 }, /key 'final_logit_softcapping'/],
    [{ attn_logit_softcapping: 50 }, /key 'attn_logit_softcapping'/],
    [{ use_bidirectional_attention: true }, /key 'use_bidirectional_attention'/],
    [
      { layer_types: ['sliding_attention', 'chunked_attention', 'full_attention'] },
      /key 'layer_types\[1\]'/,
    ],
    [{ layer_types: ['full_attention'] }, /key 'layer_types' has 1 entries for 3 layers/],
  ]
  for (const [patch, want] of cases)
    assert.throws(
      () => parseModelConfig({ ...text, ...patch }, 'config.json'),
      (e: unknown) => e instanceof FormatError && want.test(e.message) && !e.message.includes('\n'),
      JSON.stringify(patch),
    )
})

test('meta.yaml and config.json name the window, the single cache and the Gemma tokenizer', async () => {
  const out = join(tmp, 'meta')
  await convert(convertOptions(TINY, out, { context: 32, batch: 8, compile: 'never' }), {
    step: () => {},
  })
  const meta = readFileSync(join(out, 'meta.yaml'), 'utf8')
  assert.match(meta, /\n {4}split_lm_head: 16\n/)
  assert.match(meta, /\n {4}sliding_window: 4\n {4}single_cache: true\n/)
  assert.match(meta, /\n {4}ffn: gemma3_FFN_PF_chunk_01of02\.mlmodelc\n/)
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))
  assert.deepEqual(cfg, {
    tokenizer_class: 'GemmaTokenizer',
    model_type: 'gemma3_text',
    eos_token_id: [1],
  })
})
