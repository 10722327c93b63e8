import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Tokenizer } from './tokenizer.js'
import { FormatError } from '../util/errors.js'
import { TOKENIZER_DIRS, loadShared } from '../../test/fixtures/tokenizer/shared.js'

// Goldens come from the Rust `tokenizers` package: test/fixtures/tokenizer/golden.py.
const FIXTURES = join(import.meta.dirname, '../../test/fixtures/tokenizer')

interface Golden {
  vocabSize: number
  cases: {
    name: string
    ids: number[]
    idsNoSpecial: number[]
    tokens: string[]
    decoded: string
    decodedSkipSpecial: string
  }[]
  prefixDecodes: Record<string, string[]>
}

const texts: { name: string; text: string }[] = JSON.parse(
  readFileSync(join(FIXTURES, 'texts.json'), 'utf8'),
).texts

const TOKENIZERS = TOKENIZER_DIRS

for (const name of Object.keys(TOKENIZERS) as (keyof typeof TOKENIZERS)[]) {
  test(`${name}: ids, pieces and decodes equal the tokenizers-package goldens`, async () => {
    const golden: Golden = JSON.parse(readFileSync(join(FIXTURES, `${name}.golden.json`), 'utf8'))
    const tok = await loadShared(name)
    assert.equal(tok.vocabSize, golden.vocabSize)
    assert.equal(golden.cases.length, texts.length)
    for (const [i, c] of golden.cases.entries()) {
      const text = texts[i].text
      assert.equal(c.name, texts[i].name)
      assert.deepEqual(tok.encode(text), c.ids, `${c.name}: ids`)
      const plain = tok.encodeWithPieces(text, { addSpecialTokens: false })
      assert.deepEqual(plain.ids, c.idsNoSpecial, `${c.name}: ids without special tokens`)
      assert.deepEqual(plain.pieces, c.tokens, `${c.name}: pieces`)
      assert.equal(tok.decode(c.ids), c.decoded, `${c.name}: decode`)
      assert.equal(tok.decode(c.ids, { skipSpecialTokens: true }), c.decodedSkipSpecial)
      for (const [k, id] of c.idsNoSpecial.entries()) {
        assert.equal(tok.idToToken(id), c.tokens[k])
        assert.equal(tok.tokenToId(c.tokens[k]), id)
      }
    }
    for (const [textName, decodes] of Object.entries(golden.prefixDecodes)) {
      const ids = tok.encode(texts.find((t) => t.name === textName)!.text, {
        addSpecialTokens: false,
      })
      decodes.forEach((want, k) => assert.equal(tok.decode(ids.slice(0, k + 1)), want))
    }
  })
}

test('special tokens and BOS follow tokenizer_config', async () => {
  const qwen = await loadShared('qwen3')
  assert.equal(qwen.bos, undefined)
  assert.deepEqual(qwen.eos, { id: 151645, content: '<|im_end|>' })
  assert.deepEqual(qwen.pad, { id: 151643, content: '<|endoftext|>' })
  assert.equal(qwen.isSpecial(151645), true)
  assert.equal(qwen.isSpecial(151667), false) // <think> is added but not special

  const llama = await loadShared('llama3')
  assert.deepEqual(llama.bos, { id: 128000, content: '<|begin_of_text|>' })
  assert.deepEqual(llama.eos, { id: 128001, content: '<|end_of_text|>' })
  assert.deepEqual(llama.encode('Hello world'), [9906, 1917]) // post-processor adds no BOS

  const stories = await loadShared('stories260K')
  assert.deepEqual(stories.unk, { id: 0, content: '<unk>' })
  assert.equal(stories.encode('Once')[0], 1)
})

test('add_bos_token/add_eos_token in tokenizer_config override the post-processor', async () => {
  const json = JSON.parse(readFileSync(join(TOKENIZERS.stories260K, 'tokenizer.json'), 'utf8'))
  const base = { bos_token: '<s>', eos_token: '</s>' }
  const none = Tokenizer.fromJSON(json, { ...base, add_bos_token: false })
  assert.deepEqual(none.encode('a'), none.encode('a', { addSpecialTokens: false }))
  const both = Tokenizer.fromJSON(json, { ...base, add_bos_token: true, add_eos_token: true })
  const ids = both.encode('a')
  assert.equal(ids[0], 1)
  assert.equal(ids.at(-1), 2)
  assert.deepEqual(ids.slice(1, -1), both.encode('a', { addSpecialTokens: false }))
})

test('stories260K matches llama2.c reference ids (shared tokenizer_reference.json)', async () => {
  const ref = JSON.parse(
    readFileSync(join(TOKENIZERS.stories260K, 'tokenizer_reference.json'), 'utf8'),
  )
  const tok = await loadShared('stories260K')
  for (const c of ref.cases as { text: string; ids: number[]; decoded: string }[]) {
    assert.deepEqual(tok.encode(c.text), c.ids, c.text)
    assert.equal(tok.decode(c.ids, { skipSpecialTokens: true }), c.decoded)
  }
})

test('decode edge cases: empty, out-of-vocab ids, lone bytes', async () => {
  const tok = await loadShared('stories260K')
  assert.equal(tok.decode([]), '')
  assert.equal(tok.decode([99999]), '')
  // <0xE4><0xBD> is a truncated 3-byte character: one U+FFFD per byte, as the Rust decoder gives.
  assert.equal(tok.decode([231, 192]), '\ufffd\ufffd')
  assert.equal(tok.decode([231, 192, 163]), '你')
})

test('malformed tokenizer.json is a FormatError naming the file', () => {
  assert.throws(() => Tokenizer.fromJSON({}, {}, 'x/tokenizer.json'), FormatError)
  assert.throws(
    () => Tokenizer.fromJSON({ model: { type: 'Nope' } }, {}, 'x/tokenizer.json'),
    /x\/tokenizer.json: unsupported tokenizer/,
  )
  assert.throws(
    () => Tokenizer.fromJSON({ model: {}, added_tokens: [{ id: -1, content: 'a' }] }),
    FormatError,
  )
})
