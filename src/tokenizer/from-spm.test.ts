import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FormatError } from '../util/errors.js'
import { parseSpm, tokenizerFilesFromSpm } from './from-spm.js'
import { Tokenizer } from './tokenizer.js'

const SHARED = process.env.ANEMLL_SHARED ?? join(import.meta.dirname, '../../../shared')
const STORIES = join(SHARED, 'models/stories260K')
const FIXTURES = join(import.meta.dirname, '../../test/fixtures/tokenizer')

test('tokenizer.model converts to the stories260K tokenizer.json (vocab, merges, ids)', async () => {
  const { tokenizerJson, tokenizerConfig } = await tokenizerFilesFromSpm(
    join(STORIES, 'tokenizer.model'),
  )
  const ref = JSON.parse(readFileSync(join(STORIES, 'tokenizer.json'), 'utf8'))
  const model = tokenizerJson.model as { vocab: object; merges: string[] }
  assert.deepEqual({ ...model.vocab }, ref.model.vocab)
  assert.deepEqual(model.merges, ref.model.merges)
  assert.equal(tokenizerConfig.bos_token, '<s>')

  // A folder with only tokenizer.model (and its config) tokenizes like the full folder.
  const dir = mkdtempSync(join(tmpdir(), 'anemll-spm-'))
  for (const f of ['tokenizer.model', 'tokenizer_config.json'])
    copyFileSync(join(STORIES, f), join(dir, f))
  const tok = await Tokenizer.load(dir)
  const texts = JSON.parse(readFileSync(join(FIXTURES, 'texts.json'), 'utf8')).texts
  const golden = JSON.parse(readFileSync(join(FIXTURES, 'stories260K.golden.json'), 'utf8'))
  for (const [i, c] of golden.cases.entries())
    assert.deepEqual(tok.encode(texts[i].text), c.ids, c.name)
})

test('bad sentencepiece files are FormatErrors', async () => {
  const good = readFileSync(join(STORIES, 'tokenizer.model'))
  assert.throws(
    () => parseSpm(good.subarray(0, 1000), 'cut.model'),
    /cut.model: not a sentencepiece model/,
  )
  assert.throws(() => parseSpm(new Uint8Array(), 'empty.model'), /no pieces/)
  assert.throws(
    () => parseSpm(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), 'lie.model'),
    FormatError,
  )
  const dir = mkdtempSync(join(tmpdir(), 'anemll-spm-'))
  await assert.rejects(
    Tokenizer.load(dir),
    /no tokenizer.json \(or sentencepiece tokenizer.model\)/,
  )
  // One piece 'a', then trainer_spec { model_type: UNIGRAM }.
  const unigram = [0x0a, 0x05, 0x0a, 0x01, 0x61, 0x18, 0x01, 0x12, 0x02, 0x18, 0x01]
  writeFileSync(join(dir, 'tokenizer.model'), Buffer.from(unigram))
  await assert.rejects(Tokenizer.load(dir), /model type 1 is not supported \(BPE only\)/)
})
