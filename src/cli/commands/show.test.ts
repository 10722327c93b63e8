import { join } from 'node:path'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { type TestContext, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { noFixture, requireFixture, smollm2Gguf } from '../../../test/fixtures/paths.js'
import { openCheckpoint } from '../../checkpoint/checkpoint.js'
import { UsageError } from '../../util/errors.js'
import { type ShowSummary, describeCheckpoint, renderShow, showCommand } from './show.js'
import { SHARED } from '../../../test/fixtures/paths.js'

const STORIES = join(SHARED, 'models/stories260K')
const SHARDED = fileURLToPath(new URL('../../../test/fixtures/checkpoint/sharded', import.meta.url))

/** Runs the command, returning what it printed. */
async function run(t: TestContext, argv: string[]) {
  const lines: string[] = []
  t.mock.method(console, 'log', (s: string) => lines.push(s))
  assert.equal(await showCommand.run(argv), 0)
  return lines.join('\n')
}

test('stories260K: tensor count, parameters and bytes equal the safetensors data section', async () => {
  const s = describeCheckpoint(STORIES, await openCheckpoint(STORIES))
  const file = readFileSync(`${STORIES}/model.safetensors`)
  const dataBytes = file.length - 8 - Number(file.readBigUInt64LE(0))
  assert.deepEqual(s.tensors.byDtype, {
    F32: { tensors: 47, parameters: dataBytes / 4, bytes: dataBytes },
  })
  assert.equal(s.tensors.count, 47)
  assert.equal(s.tokenizer.tokenizerJson, 'tokenizer.json')
  const text = renderShow(s)
  assert.match(text, /Hugging Face folder · llama \(LlamaForCausalLM\)/)
  assert.match(text, /num_key_value_heads\s+4/)
  assert.match(text, /tensors {2}47 · 260\.0K parameters/)
})

test('--json prints the summary for scripts (sharded bf16 folder)', async (t) => {
  const s = JSON.parse(await run(t, [SHARDED, '--json'])) as ShowSummary
  assert.equal(s.source, 'hf')
  assert.equal(s.config.rope_scaling?.rope_type, 'llama3')
  assert.equal(s.tensors.byDtype.BF16.tensors, 21)
  assert.equal(s.tensors.bytes, s.tensors.byDtype.BF16.parameters * 2)
  assert.deepEqual(s.generationConfig.eos_token_id, [2, 3])
})

test('a GGUF file: bytes by quant type', { skip: noFixture(smollm2Gguf()) }, async (t) => {
  const text = await run(t, [requireFixture(smollm2Gguf(), 'SmolLM2 GGUF')])
  assert.match(text, /GGUF file · llama/)
  assert.match(text, /Q4_1\s+210 tensors/)
  assert.match(text, /Q8_0\s+1 tensor\s/)
  assert.match(text, /F32\s+61 tensors/)
  assert.match(text, /tokens\s+49152/)
})

test('usage errors: no model, two models, a path that does not exist', async () => {
  await assert.rejects(showCommand.run([]), UsageError)
  await assert.rejects(showCommand.run(['a', 'b']), UsageError)
  await assert.rejects(showCommand.run(['/no/such/model']), /no such file or folder/)
  await assert.rejects(showCommand.run([`${STORIES}/config.json`]), /not a .gguf/)
  await assert.rejects(showCommand.run([STORIES, '--bogus']), UsageError)
})
