// Tiny llama3 / qwen3 / qwen2 / llama-bias / gemma3 checkpoints converted at fp16 and run by our executor, against
// Hugging Face transformers' own float32 logits (test/fixtures/hf-goldens, made by
// make_goldens.py): every position, token by token through `infer` and after batched `prefill`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { agreement, decisiveMismatches, describe, nearTieMargin } from './metrics.js'
import { convertForTest, logitsByInfer, logitsByPrefill, openParts } from './parts.js'

const ROOT = join(import.meta.dirname, '../..')
const GOLDENS = join(ROOT, 'test/fixtures/hf-goldens')
const tmp = mkdtempSync(join(tmpdir(), 'anemll-fidelity-hf-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

interface Goldens {
  ids: number[]
  models: Record<string, { file: string; shape: [number, number]; sha256: string }>
  transformers: string
}
const goldens = JSON.parse(readFileSync(join(GOLDENS, 'goldens.json'), 'utf8')) as Goldens

function goldenLogits(name: string): Float32Array[] {
  const g = goldens.models[name]
  const buf = readFileSync(join(GOLDENS, g.file))
  assert.equal(createHash('sha256').update(buf).digest('hex'), g.sha256, `${g.file} checksum`)
  const [positions, vocab] = g.shape
  assert.equal(buf.byteLength, positions * vocab * 4, `${g.file} size`)
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength))
  return Array.from({ length: positions }, (_, i) => all.subarray(i * vocab, (i + 1) * vocab))
}

/**
 * fp16 tolerance: activations and weights in fp16 carry ~1e-3 relative error per op, so logits
 * may differ by a few thousandths of their own scale (measured: up to 3.0e-3; a missing
 * llama3 rope scaling gives 0.2). Also the argmax must agree wherever the reference's top-2
 * margin is wider than twice our largest deviation (random tiny models have near-ties).
 */
const RELATIVE_TOLERANCE = 6e-3
const MAX_KL = 2e-4

function checkClose(label: string, ref: Float32Array[], got: Float32Array[]) {
  const a = agreement(ref, got)
  let maxDev = 0
  ref.forEach((r, p) => {
    let scale = 0
    let worst = 0
    for (let i = 0; i < r.length; i++) {
      scale = Math.max(scale, Math.abs(r[i]))
      worst = Math.max(worst, Math.abs(r[i] - got[p][i]))
    }
    assert.ok(
      worst <= RELATIVE_TOLERANCE * scale,
      `${label} position ${p}: max |Δ| ${worst} > ${RELATIVE_TOLERANCE} × max |logit| ${scale}`,
    )
    maxDev = Math.max(maxDev, worst)
  })
  const margin = nearTieMargin(maxDev, 0)
  const top2 = ref.map(topTwo)
  const gaps = top2.map(([a, b]) => a.value - b.value)
  const flips = decisiveMismatches(
    top2.map(([a]) => a.index),
    gaps,
    got,
    margin,
  )
  console.log(
    `${describe(label, a)}; near-ties below ${margin.toFixed(3)}: ${gaps.filter((x) => x < margin).length}`,
  )
  assert.deepEqual(flips, [], `${label}: argmax agrees wherever the reference is decisive`)
  assert.ok(a.maxKl <= MAX_KL, `${label}: KL ${a.maxKl} <= ${MAX_KL}`)
}

/** The best and second-best (index, value) of a logit vector. */
function topTwo(
  x: Float32Array,
): [{ index: number; value: number }, { index: number; value: number }] {
  let a = { index: -1, value: -Infinity }
  let b = { index: -1, value: -Infinity }
  x.forEach((value, index) => {
    if (value > a.value) [a, b] = [{ index, value }, a]
    else if (value > b.value) b = { index, value }
  })
  return [a, b]
}

// Chunk counts vary so one, two and three chunks (one layer each) all chain the shared state.
const CASES = [
  { name: 'llama3', chunks: 1, what: 'llama3 rope scaling, GQA, tied head' },
  { name: 'qwen3', chunks: 2, what: 'q/k norms, head_dim 24, untied head' },
  { name: 'qwen2', chunks: 3, what: 'q/k/v biases, tied head' },
  { name: 'llama-bias', chunks: 2, what: 'attention_bias on q/k/v/o, mlp_bias, untied head' },
  {
    name: 'gemma3',
    chunks: 2,
    what: 'local and global layers with their own rope, four (1 + w) norms, GeGLU, embeddings × √H',
  },
]

for (const c of CASES) {
  test(`${c.name} fp16 (${c.what}) matches transformers ${goldens.transformers}`, async () => {
    const out = await convertForTest(join(ROOT, 'test/fixtures/tiny', c.name), join(tmp, c.name), {
      context: 32,
      batch: 8,
      chunks: c.chunks,
    })
    const ref = goldenLogits(c.name)
    const m = openParts(out)
    assert.equal(m.context, 32)
    checkClose(`${c.name} infer`, ref, logitsByInfer(m, goldens.ids))
    // Position 0 has nothing to prefill; every later one gets a fresh cache filled by prefill.
    checkClose(`${c.name} prefill+infer`, ref.slice(1), logitsByPrefill(m, goldens.ids))
  })
}
