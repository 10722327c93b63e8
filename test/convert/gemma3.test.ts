// Gemma 3 as far as it is converted today: its config mapping (text_config unwrap, Gemma's key
// names and defaults, refusals), the fp16 remedy on its post-norm residual stream, meta.yaml.
// Logits against transformers, past the sliding window: test/fidelity/hf-goldens.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { archFor } from '../../src/arch/registry.js'
import { WeightBank } from '../../src/arch/weights.js'
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js'
import { parseModelConfig } from '../../src/checkpoint/config.js'
import { monolithicModel, type PartOptions } from '../../src/convert/parts.js'
import { convert, convertOptions } from '../../src/convert/pipeline.js'
import { measureResidualPeak } from '../../src/convert/preflight.js'
import { createState, loadFunction, makeTensor } from '../../src/runtime/index.js'
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

const IDS = [2, 17, 300, 42, 999, 5, 77, 123]

async function parts(residualScale: number): Promise<PartOptions> {
  const ckpt = await openCheckpoint(TINY)
  return {
    ckpt,
    arch: archFor(ckpt.config.model_type),
    weights: new WeightBank(ckpt),
    context: 16,
    batch: 8,
    lut: {},
    argmax: false,
    residualScale,
  }
}

/** Logits at every position, token by token through the monolithic fp16 model. */
async function logits(residualScale: number): Promise<Float32Array[]> {
  const infer = loadFunction(monolithicModel(await parts(residualScale)), 'infer')
  const state = createState(infer)
  return IDS.map((tok, pos) => {
    const out = infer.run(
      {
        input_ids: makeTensor('int32', [1, 1], [tok]),
        position_ids: makeTensor('int32', [1], [pos]),
        causal_mask: makeTensor(
          'fp16',
          [1, 1, 1, 16],
          new Float32Array(16).map((_, j) => (j <= pos ? 0 : -Infinity)),
        ),
        current_pos: makeTensor('int32', [1], [pos]),
      },
      state,
    )
    const parts = Object.keys(out)
      .filter((k) => k.startsWith('logits'))
      .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
    return Float32Array.from(parts.flatMap((k) => [...(out[k].data as Float32Array)]))
  })
}

test("the fp16 remedy scales Gemma's post-norm gains and embeddings: same logits", async () => {
  // The residual stream shrinks by α (it is the post-norms' outputs plus the embeddings) ...
  const plain = measureResidualPeak(await parts(1), IDS).peak
  const scaled = measureResidualPeak(await parts(1 / 64), IDS).peak
  assert.ok(Math.abs((scaled * 64) / plain - 1) < 0.01, `peaks ${plain} → ${scaled}`)
  // ... and the model computes the same function.
  const want = await logits(1)
  const got = await logits(1 / 64)
  let worst = 0
  want.forEach((w, i) => {
    for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs(got[i][j] - w[j]))
  })
  assert.ok(worst < 0.05, `max |Δlogit| ${worst}`)
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
