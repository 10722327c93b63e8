import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { IncrementalDecoder } from './detokenize.js'
import type { Tokenizer } from './tokenizer.js'
import { TOKENIZER_DIRS, loadShared } from '../../test/fixtures/tokenizer/shared.js'

const texts: { name: string; text: string }[] = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../test/fixtures/tokenizer/texts.json'), 'utf8'),
).texts

function stream(tok: Tokenizer, ids: number[], skipSpecialTokens: boolean): string[] {
  const detok = new IncrementalDecoder(tok, { skipSpecialTokens })
  const deltas = ids.map((id) => detok.push(id))
  deltas.push(detok.flush())
  return deltas
}

for (const name of Object.keys(TOKENIZER_DIRS) as (keyof typeof TOKENIZER_DIRS)[]) {
  test(`${name}: token-by-token deltas concatenate to decode(all) and never split a character`, async () => {
    const tok = await loadShared(name)
    for (const { name: textName, text } of texts) {
      const ids = tok.encode(text)
      for (const skip of [false, true]) {
        const deltas = stream(tok, ids, skip)
        const full = tok.decode(ids, { skipSpecialTokens: skip })
        assert.equal(deltas.join(''), full, `${textName} (skip=${skip})`)
        for (const d of deltas) {
          assert.equal(Buffer.from(d).toString(), d, `${textName}: lone surrogate in a delta`)
          if (!full.includes('\ufffd')) assert.ok(!d.includes('\ufffd'), `${textName}: U+FFFD`)
        }
      }
    }
  })
}

test('byte-fallback CJK and emoji: bytes are held until the character is complete', async () => {
  const tok = await loadShared('stories260K')
  // 你 is <0xE4><0xBD><0xA0> in stories260K (no CJK pieces in its 512-token vocab).
  const ids = tok.encode('你🙂', { addSpecialTokens: false })
  const pieces = ids.map((id) => tok.idToToken(id))
  assert.deepEqual(pieces, [
    '▁',
    '<0xE4>',
    '<0xBD>',
    '<0xA0>',
    '<0xF0>',
    '<0x9F>',
    '<0x99>',
    '<0x82>',
  ])
  // The leading '▁' decodes to '' (sentencepiece strips the first space); the final '' is flush().
  assert.deepEqual(stream(tok, ids, false), ['', '', '', '你', '', '', '', '🙂', ''])
})

test('byte-level BPE: an emoji split over tokens is emitted whole', async () => {
  const tok = await loadShared('llama3')
  const ids = tok.encode('👨‍👩‍👧‍👦 你好', { addSpecialTokens: false })
  const deltas = stream(tok, ids, false).filter((d) => d !== '')
  assert.ok(deltas.length < ids.length, 'some tokens are partial characters')
  assert.equal(deltas.join(''), '👨‍👩‍👧‍👦 你好')
})

test('an unfinished character at the end is flushed as U+FFFD, like decode', async () => {
  const tok = await loadShared('stories260K')
  const e4 = tok.tokenToId('<0xE4>')!
  const detok = new IncrementalDecoder(tok)
  assert.equal(detok.push(e4), '')
  assert.equal(detok.flush(), tok.decode([e4]))
  assert.equal(detok.flush(), '')
})
