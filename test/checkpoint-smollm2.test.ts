// The real SmolLM2-135M-Instruct Q4_1 GGUF against gguf-py's reading of it (smollm2-gguf.json),
// and as a Checkpoint against the model's published config.json.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { openCheckpoint } from '../src/checkpoint/checkpoint.js'
import { readModelConfig } from '../src/checkpoint/config.js'
import { unpermuteRows } from '../src/checkpoint/gguf-import.js'
import {
  type GgufValue,
  GgufValueType as V,
  readGguf,
  readGgufTensor,
} from '../src/formats/gguf.js'
import { noFixture, requireFixture, smollm2Gguf } from './fixtures/paths.js'

const FIX = new URL('./fixtures/checkpoint/', import.meta.url)
const skip = noFixture(smollm2Gguf())
const golden = () =>
  JSON.parse(readFileSync(new URL('smollm2-gguf.json', FIX), 'utf8')) as {
    version: number
    alignment: number
    dataOffset: number
    metadata: Record<
      string,
      { type: string; elementType?: string; length?: number; sha256?: string; value?: unknown }
    >
    tensors: { name: string; type: string; dims: number[]; bytes: number; fileOffset: number }[]
    dequant: Record<string, { count: number; sha256: string; first: number[]; sum: number }>
  }
const sha = (x: Float32Array) =>
  createHash('sha256')
    .update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))
    .digest('hex')

/** make_goldens.py's array hash: strings as u32 length + UTF-8, bools as a byte, numbers as f64. */
function arrayHash(values: GgufValue[], elementType: number): string {
  const h = createHash('sha256')
  for (const v of values) {
    if (elementType === V.STRING) {
      const b = Buffer.from(v as string)
      const len = Buffer.alloc(4)
      len.writeUInt32LE(b.length)
      h.update(len).update(b)
    } else if (elementType === V.BOOL) h.update(Buffer.from([v ? 1 : 0]))
    else {
      const b = Buffer.alloc(8)
      b.writeDoubleLE(elementType === V.FLOAT32 ? Math.fround(v as number) : Number(v))
      h.update(b)
    }
  }
  return h.digest('hex')
}

test('metadata, tensor infos and layout match gguf-py', { skip }, () => {
  const g = readGguf(requireFixture(smollm2Gguf(), 'SmolLM2 GGUF'))
  const want = golden()
  assert.deepEqual(
    [g.version, g.alignment, g.dataOffset],
    [want.version, want.alignment, want.dataOffset],
  )
  assert.deepEqual([...g.metadata.keys()], Object.keys(want.metadata))
  for (const [key, w] of Object.entries(want.metadata)) {
    const info = g.metadataTypes.get(key)!
    const got = g.metadata.get(key)!
    assert.equal(info.type, V[w.type as keyof typeof V], key)
    if (w.type === 'ARRAY') {
      assert.equal(info.elementType, V[w.elementType as keyof typeof V], key)
      assert.equal((got as GgufValue[]).length, w.length, key)
      if (w.sha256) assert.equal(arrayHash(got as GgufValue[], info.elementType!), w.sha256, key)
      else assert.deepEqual(got, w.value, key)
    } else if (w.type === 'FLOAT32') assert.equal(Math.fround(got as number), w.value, key)
    else assert.equal(got, w.value, key)
  }
  assert.equal(g.tensors.length, want.tensors.length)
  g.tensors.forEach((t, i) => {
    const w = want.tensors[i]
    assert.deepEqual(
      [t.name, t.typeName, t.dims, t.byteLength, t.fileOffset],
      [w.name, w.type, w.dims, w.bytes, w.fileOffset],
    )
  })
})

test(
  'dequantized tensors (Q8_0, Q4_1, F32) match gguf.quants.dequantize bit for bit',
  { skip },
  () => {
    const g = readGguf(requireFixture(smollm2Gguf(), 'SmolLM2 GGUF'))
    const want = golden().dequant
    assert.ok(Object.keys(want).length >= 7)
    for (const [name, w] of Object.entries(want)) {
      const x = readGgufTensor(
        g,
        g.tensors.find((t) => t.name === name)!,
      )
      assert.equal(x.length, w.count, name)
      assert.deepEqual([...x.subarray(0, 8)], w.first, name)
      assert.equal(sha(x), w.sha256, name)
      assert.ok(
        Math.abs(x.reduce((s, v) => s + v, 0) - w.sum) <=
          1e-6 * Math.max(1, Math.abs(w.sum)) * x.length,
        name,
      )
    }
  },
)

test(
  'as a Checkpoint: config equals the published config.json, HF names and layouts',
  { skip },
  async () => {
    const path = requireFixture(smollm2Gguf(), 'SmolLM2 GGUF')
    const ck = await openCheckpoint(path)
    const hf = readModelConfig(new URL('configs/smollm2-135m-instruct.json', FIX).pathname)
    // GGUF has no torch_dtype; everything else must agree with the HF config.
    assert.deepEqual({ ...ck.config, torch_dtype: hf.torch_dtype }, hf)
    assert.equal(ck.tensorNames().length, 272)
    assert.ok(!ck.tensorNames().includes('lm_head.weight'))
    assert.deepEqual(ck.tensorInfo('model.layers.0.self_attn.k_proj.weight'), {
      dtype: 'Q4_1',
      shape: [192, 576],
      bytes: 69120,
    })
    assert.deepEqual(ck.tensorInfo('model.embed_tokens.weight'), {
      dtype: 'Q8_0',
      shape: [49152, 576],
      bytes: 30081024,
    })
    const g = readGguf(path)
    const k = readGgufTensor(
      g,
      g.tensors.find((t) => t.name === 'blk.0.attn_k.weight')!,
    )
    assert.deepEqual(
      ck.readTensor('model.layers.0.self_attn.k_proj.weight'),
      unpermuteRows(k, 192, 3),
    )
    const tok = ck.tokenizerSource
    assert.equal(tok.kind, 'gguf')
    if (tok.kind !== 'gguf') return
    assert.equal((tok.metadata.get('tokenizer.ggml.tokens') as string[]).length, 49152)
    assert.equal(tok.metadata.get('tokenizer.ggml.model'), 'gpt2')
    assert.match(tok.metadata.get('tokenizer.chat_template') as string, /<\|im_start\|>/)
  },
)
