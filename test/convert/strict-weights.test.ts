// Strict weights: a conversion accounts for every checkpoint tensor and refuses config flags the
// graph does not compute, each with a one-line error naming the tensor or key, before it writes
// anything. And each architecture's declared tensor list is what its graphs really read.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { archFor } from '../../src/arch/registry.js'
import { WeightBank } from '../../src/arch/weights.js'
import { openCheckpoint, type Checkpoint } from '../../src/checkpoint/checkpoint.js'
import { chunkModel, embeddingsModel, lmHeadModel } from '../../src/convert/parts.js'
import { convert, convertOptions } from '../../src/convert/pipeline.js'
import { tensorsRead } from '../../src/convert/weights-check.js'
import { writePackage } from '../../src/package/write.js'
import { AnemllError } from '../../src/util/errors.js'

const TINY = (a: string) => join(import.meta.dirname, '../fixtures/tiny', a)
const tmp = mkdtempSync(join(tmpdir(), 'anemll-strict-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

/** Writes a float32 safetensors file (the format: u64 header length, JSON header, data). */
function writeSafetensors(
  path: string,
  tensors: Map<string, { shape: number[]; data: Float32Array }>,
) {
  const header: Record<string, unknown> = {}
  let offset = 0
  for (const [name, t] of tensors) {
    header[name] = {
      dtype: 'F32',
      shape: t.shape,
      data_offsets: [offset, offset + t.data.byteLength],
    }
    offset += t.data.byteLength
  }
  const json = Buffer.from(JSON.stringify(header))
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(json.length))
  const data = [...tensors.values()].map((t) =>
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  )
  writeFileSync(path, Buffer.concat([len, json, ...data]))
}

/** A copy of a tiny fixture with config keys changed and tensors added or dropped. */
async function variant(
  name: string,
  from: string,
  edit: {
    config?: Record<string, unknown>
    add?: Record<string, number[]>
    drop?: string[]
  },
): Promise<string> {
  const dir = join(tmp, name)
  mkdirSync(dir)
  const src = await openCheckpoint(TINY(from))
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>()
  for (const n of src.tensorNames())
    if (!edit.drop?.includes(n))
      tensors.set(n, { shape: src.tensorInfo(n).shape, data: src.readTensor(n) })
  for (const [n, shape] of Object.entries(edit.add ?? {}))
    tensors.set(n, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5) })
  writeSafetensors(join(dir, 'model.safetensors'), tensors)
  const cfg = JSON.parse(readFileSync(join(TINY(from), 'config.json'), 'utf8'))
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, ...edit.config }))
  return dir
}

/** Converts `model`; returns the error's message, asserting it is a one-line AnemllError. */
async function refusal(model: string): Promise<string> {
  const out = join(tmp, `${model.split('/').pop()}-out`)
  const err = await convert(
    convertOptions(model, out, { context: 16, batch: 8, compile: 'never' }),
    {
      step: () => {},
    },
  ).then(
    () => assert.fail(`${model} converted`),
    (e: unknown) => e,
  )
  assert.ok(err instanceof AnemllError, `a user-facing error, not ${String(err)}`)
  assert.ok(!err.message.includes('\n'), `one line: ${err.message}`)
  assert.ok(!existsSync(out), 'nothing written')
  return err.message
}

test('a tensor the graph does not read is refused, naming it', async () => {
  // A q bias on a llama config without attention_bias: converting would drop it.
  const m = await variant('extra', 'llama3', {
    add: { 'model.layers.1.self_attn.q_proj.bias': [64] },
  })
  assert.match(
    await refusal(m),
    /tensor 'model\.layers\.1\.self_attn\.q_proj\.bias' is not used by the llama graph/,
  )
})

test('a tensor the graph reads is required, naming it', async () => {
  const m = await variant('missing', 'qwen3', { drop: ['model.layers.2.self_attn.k_norm.weight'] })
  assert.match(await refusal(m), /tensor 'model\.layers\.2\.self_attn\.k_norm\.weight' is missing/)
  const head = await variant('no-head', 'qwen3', { drop: ['lm_head.weight'] })
  assert.match(await refusal(head), /tensor 'lm_head\.weight' is missing/)
})

test('config flags the graph does not compute are refused, naming the key', async () => {
  const cases: [string, string, Record<string, unknown>, RegExp][] = [
    [
      'sliding',
      'qwen3',
      { use_sliding_window: true, sliding_window: 8, max_window_layers: 1 },
      /key 'use_sliding_window'/,
    ],
    [
      'layer-types',
      'qwen2',
      { layer_types: ['full_attention', 'sliding_attention', 'full_attention'] },
      /key 'layer_types\[1\]'/,
    ],
    ['partial-rope', 'llama3', { partial_rotary_factor: 0.5 }, /key 'partial_rotary_factor'/],
    ['activation', 'llama3', { hidden_act: 'gelu_new' }, /key 'hidden_act'/],
    [
      'rope-type',
      'llama3',
      { rope_scaling: { rope_type: 'yarn', factor: 4 } },
      /key 'rope_scaling\.rope_type'/,
    ],
  ]
  for (const [name, from, config, want] of cases)
    assert.match(await refusal(await variant(name, from, { config })), want, name)
})

test('knowingly unused tensors and a tied head stored twice convert', async () => {
  const m = await variant('unused', 'llama3', {
    add: { 'model.layers.0.self_attn.rotary_emb.inv_freq': [8], 'lm_head.weight': [1000, 64] },
  })
  const out = join(tmp, 'unused-out')
  await convert(convertOptions(m, out, { context: 16, batch: 8, chunks: 1, compile: 'never' }), {
    step: () => {},
  })
  assert.ok(existsSync(join(out, 'meta.yaml')))
})

/** Records which tensors are read. */
function recording(ckpt: Checkpoint, seen: Set<string>): Checkpoint {
  return {
    ...ckpt,
    readTensor: (n, o) => (seen.add(n), ckpt.readTensor(n, o)),
    readTensorRows: (n, a, b) => (seen.add(n), ckpt.readTensorRows(n, a, b)),
  }
}

test("each architecture's tensor list is what its parts read", async () => {
  for (const name of ['llama3', 'qwen3', 'qwen2', 'llama-bias', 'gemma3']) {
    const ckpt = await openCheckpoint(TINY(name))
    const seen = new Set<string>()
    const rec = recording(ckpt, seen)
    const arch = archFor(ckpt.config.model_type)
    const o = {
      ckpt: rec,
      arch,
      weights: new WeightBank(rec),
      context: 16,
      batch: 8,
      lut: {},
      argmax: false,
    }
    const out = join(tmp, `read-${name}`)
    mkdirSync(out)
    writePackage(embeddingsModel(o), join(out, 'e.mlpackage'))
    writePackage(lmHeadModel(o), join(out, 'h.mlpackage'))
    writePackage(chunkModel(o, 0, 1), join(out, 'c.mlpackage'))
    assert.deepEqual([...seen].sort(), [...tensorsRead(arch, ckpt)].sort(), name)
  }
})
