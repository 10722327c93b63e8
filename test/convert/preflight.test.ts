// The fp16 preflight on a model whose residual stream outgrows fp16 (llama3-hot: the tiny llama3
// with embeddings and residual updates ×16384, the same function): the overflow is found, α is
// chosen, and the remedied fp16 model computes what the original does; also on Gemma 3's
// post-norm layers, where α goes on the post-norm gains.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monolithicModel, type PartOptions } from '../../src/convert/parts.js'
import { archFor } from '../../src/arch/registry.js'
import { WeightBank } from '../../src/arch/weights.js'
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js'
import { measureResidualPeak } from '../../src/convert/preflight.js'
import { convert, convertOptions } from '../../src/convert/pipeline.js'
import { createState, loadFunction, makeTensor } from '../../src/runtime/index.js'

const TINY = (a: string) => join(import.meta.dirname, '../fixtures/tiny', a)
const C = 16
const IDS = [1, 17, 300, 42, 999, 5, 77, 123]

async function parts(dir: string, residualScale = 1): Promise<PartOptions> {
  const ckpt = await openCheckpoint(dir)
  return {
    ckpt,
    arch: archFor(ckpt.config.model_type),
    weights: new WeightBank(ckpt),
    context: C,
    batch: 8,
    lut: {},
    argmax: false,
    residualScale,
  }
}

/** Logits at every position, token by token through the monolithic fp16 model. */
function logits(p: PartOptions): Float32Array[] {
  const infer = loadFunction(monolithicModel(p), 'infer')
  const state = createState(infer)
  return IDS.map((tok, pos) => {
    const out = infer.run(
      {
        input_ids: makeTensor('int32', [1, 1], [tok]),
        position_ids: makeTensor('int32', [1], [pos]),
        causal_mask: makeTensor(
          'fp16',
          [1, 1, 1, C],
          new Float32Array(C).map((_, j) => (j <= pos ? 0 : -Infinity)),
        ),
        current_pos: makeTensor('int32', [1], [pos]),
      },
      state,
    )
    const keys = Object.keys(out).sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
    return Float32Array.from(keys.flatMap((k) => Array.from(out[k].data as Float32Array)))
  })
}

const argmax = (x: Float32Array) => x.indexOf(Math.max(...x))

test('the preflight finds the overflow, and α restores the original function in fp16', async () => {
  const plain = measureResidualPeak(await parts(TINY('llama3')), IDS)
  assert.ok(Number.isFinite(plain.peak) && plain.peak < 1000, `tiny llama3 peak ${plain.peak}`)
  const hot = measureResidualPeak(await parts(TINY('llama3-hot')), IDS)
  assert.equal(hot.peak, Infinity)
  assert.match(hot.overflowAt ?? '', /residual/)

  const out = mkdtempSync(join(tmpdir(), 'anemll-fp16-'))
  try {
    const notes: string[] = []
    const r = await convert(
      convertOptions(TINY('llama3-hot'), out, {
        context: C,
        batch: 8,
        chunks: 1,
        compile: 'never',
        fp16Scale: 'auto',
      }),
      { step: () => {}, note: (t) => notes.push(t) },
    )
    assert.ok(r.fp16 && r.fp16.scale < 1 && r.fp16.scale > 0, `α = ${r.fp16?.scale}`)
    assert.ok(r.fp16.after.peak <= 50000, `peak after ${r.fp16.after.peak}`)
    assert.match(notes.join('\n'), /fp16 preflight: residual peak overflow .* → \d+ with α = /)
    assert.match(readFileSync(join(out, 'meta.yaml'), 'utf8'), /# fp16_scale: /)

    const want = logits(await parts(TINY('llama3')))
    const got = logits(await parts(TINY('llama3-hot'), r.fp16.scale))
    let worst = 0
    want.forEach((w, i) => {
      assert.equal(argmax(got[i]), argmax(w), `top-1 at position ${i}`)
      for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs(got[i][j] - w[j]))
    })
    assert.ok(worst < 0.05, `max |Δlogit| ${worst}`)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})

test("Gemma 3's remedy scales its post-norm gains and embeddings: same function, α-smaller stream", async () => {
  const gemma = TINY('gemma3')
  const plain = measureResidualPeak(await parts(gemma), IDS).peak
  const scaled = measureResidualPeak(await parts(gemma, 1 / 64), IDS).peak
  assert.ok(Math.abs((scaled * 64) / plain - 1) < 0.01, `peaks ${plain} → ${scaled}`)
  const want = logits(await parts(gemma))
  const got = logits(await parts(gemma, 1 / 64))
  let worst = 0
  want.forEach((w, i) => {
    assert.equal(argmax(got[i]), argmax(w), `top-1 at position ${i}`)
    for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs(got[i][j] - w[j]))
  })
  assert.ok(worst < 0.05, `max |Δlogit| ${worst}`)
})
