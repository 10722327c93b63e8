import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { GgufValue } from '../formats/gguf.js'
import { readGguf } from '../formats/gguf.js'
import { noFixture, requireFixture, smollm2Gguf } from '../../test/fixtures/paths.js'
import { noPython, runPython } from '../../test/oracle/python.js'
import { FormatError } from '../util/errors.js'
import { ChatTemplate } from './chat-template.js'
import { tokenizerFilesFromGguf, tokenizerFromGguf } from './from-gguf.js'
import { loadTokenizer } from './load.js'
import { Tokenizer } from './tokenizer.js'

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/tokenizer')
const SHARED = process.env.ANEMLL_SHARED ?? join(import.meta.dirname, '../../../shared')
const texts: { name: string; text: string }[] = JSON.parse(
  readFileSync(join(FIXTURES, 'texts.json'), 'utf8'),
).texts
const readJson = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'))
const gguf = smollm2Gguf()

let smol: { meta: Map<string, GgufValue>; file: string } | undefined
function smolMeta() {
  const file = requireFixture(gguf, 'SmolLM2 GGUF')
  if (!smol) smol = { meta: readGguf(file).metadata, file }
  return smol
}

test('SmolLM2 GGUF: ids equal the tokenizers-package goldens', { skip: noFixture(gguf) }, () => {
  const { meta, file } = smolMeta()
  const tok = tokenizerFromGguf(meta, file)
  const golden = readJson('smollm2.golden.json')
  assert.equal(tok.vocabSize, 49152)
  for (const [i, c] of golden.cases.entries()) {
    assert.deepEqual(tok.encode(texts[i].text), c.ids, c.name)
    assert.equal(tok.decode(c.ids), c.decoded, c.name)
    assert.equal(tok.decode(c.ids, { skipSpecialTokens: true }), c.decodedSkipSpecial, c.name)
  }
  // Known SmolLM2 ids (its chat format): <|endoftext|> 0, <|im_start|> 1, <|im_end|> 2.
  assert.deepEqual(tok.encode('<|endoftext|><|im_start|><|im_end|>'), [0, 1, 2])
  assert.deepEqual(tok.bos, { id: 1, content: '<|im_start|>' })
  assert.deepEqual(tok.eos, { id: 2, content: '<|im_end|>' })
  assert.deepEqual(tok.unk, { id: 0, content: '<|endoftext|>' })
})

test(
  "SmolLM2 GGUF: ids equal llama.cpp's own tokenizer (independent implementation)",
  { skip: noFixture(gguf) },
  () => {
    const { meta, file } = smolMeta()
    const tok = tokenizerFromGguf(meta, file)
    const ref = readJson('smollm2.llamacpp.json')
    assert.equal(ref.cases.length, texts.length)
    for (const [i, c] of ref.cases.entries()) {
      assert.equal(c.name, texts[i].name)
      assert.deepEqual(tok.encode(texts[i].text), c.ids, c.name)
      assert.equal(tok.decode(c.ids), c.decoded, c.name)
    }
  },
)

test(
  'SmolLM2 GGUF: the committed golden is what the tokenizers package gives on our tokenizer.json today',
  { skip: noFixture(gguf) || noPython() },
  () => {
    const { meta, file } = smolMeta()
    const { tokenizerJson } = tokenizerFilesFromGguf(meta, file)
    const dir = mkdtempSync(join(tmpdir(), 'anemll-smol-'))
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson))
    const r = runPython(join(FIXTURES, 'golden.py'), [`smollm2=${dir}`, `--out=${dir}`])
    assert.equal(r.status, 0, r.stderr)
    const fresh = JSON.parse(readFileSync(join(dir, 'smollm2.golden.json'), 'utf8'))
    assert.deepEqual(fresh, readJson('smollm2.golden.json'))
  },
)

test('SmolLM2 GGUF: chat template renders as jinja2 does', { skip: noFixture(gguf) }, () => {
  const { meta, file } = smolMeta()
  const tok = tokenizerFromGguf(meta, file)
  const chat = ChatTemplate.fromTokenizer(tok)!
  const golden = readJson('chat.golden.json').templates.smollm2
  const fixture = readJson('conversations.json')
  for (const c of fixture.conversations)
    for (const v of fixture.variants)
      assert.equal(
        chat.render(c.messages, {
          addGenerationPrompt: v.add_generation_prompt,
          enableThinking: v.enable_thinking,
        }),
        golden.renders[`${c.name}/${v.name}`],
      )
})

/** GGUF-style metadata for stories260K, from llama2.c's tok512.bin (pieces + scores). */
function stories260KMeta(): Map<string, GgufValue> {
  const buf = readFileSync(join(SHARED, 'models/stories260K-llama2c/tok512.bin'))
  const tokens: string[] = []
  const scores: number[] = []
  let pos = 4 // int32 max_token_length
  while (pos < buf.length) {
    scores.push(buf.readFloatLE(pos))
    const len = buf.readInt32LE(pos + 4)
    tokens.push(buf.toString('utf8', pos + 8, pos + 8 + len))
    pos += 8 + len
  }
  // llama2.c stores '▁' as a space and wraps <s>, </s> in newlines.
  const pieces = tokens.map((t, i) => (i === 1 ? '<s>' : i === 2 ? '</s>' : t.replaceAll(' ', '▁')))
  // llama.cpp's token types: 2 unknown, 3 control, 6 byte, 1 normal.
  const types = pieces.map((t, i) =>
    i === 0 ? 2 : i < 3 ? 3 : /^<0x[0-9A-F]{2}>$/.test(t) ? 6 : 1,
  )
  return new Map<string, GgufValue>([
    ['tokenizer.ggml.model', 'llama'],
    ['tokenizer.ggml.tokens', pieces],
    ['tokenizer.ggml.scores', scores],
    ['tokenizer.ggml.token_type', types],
    ['tokenizer.ggml.bos_token_id', 1],
    ['tokenizer.ggml.eos_token_id', 2],
    ['tokenizer.ggml.unknown_token_id', 0],
  ])
}

test('sentencepiece GGUF metadata rebuilds the stories260K tokenizer exactly', async () => {
  const meta = stories260KMeta()
  const { tokenizerJson } = tokenizerFilesFromGguf(meta, 'stories.gguf')
  const ref = JSON.parse(readFileSync(join(SHARED, 'models/stories260K/tokenizer.json'), 'utf8'))
  const model = tokenizerJson.model as { vocab: unknown; merges: unknown }
  assert.deepEqual({ ...(model.vocab as object) }, ref.model.vocab)
  assert.deepEqual(
    model.merges,
    ref.model.merges,
    'merges derived from scores as transformers does',
  )
  const tok = tokenizerFromGguf(meta, 'stories.gguf')
  const golden = readJson('stories260K.golden.json')
  for (const [i, c] of golden.cases.entries()) {
    assert.deepEqual(tok.encode(texts[i].text), c.ids, c.name)
    assert.equal(tok.decode(c.ids), c.decoded, c.name)
  }
  const folder = await Tokenizer.load(join(SHARED, 'models/stories260K'))
  assert.deepEqual(tok.bos, folder.bos)
  assert.deepEqual(tok.eos, folder.eos)
  assert.deepEqual(tok.unk, folder.unk)
})

test('add_bos_token and add_space_prefix from the metadata are honoured', () => {
  const meta = stories260KMeta()
  meta.set('tokenizer.ggml.add_bos_token', false)
  meta.set('tokenizer.ggml.add_eos_token', true)
  const tok = tokenizerFromGguf(meta, 'stories.gguf')
  const ids = tok.encode('Once')
  assert.notEqual(ids[0], 1)
  assert.equal(ids.at(-1), 2)
  meta.set('tokenizer.ggml.add_space_prefix', false)
  const bare = tokenizerFromGguf(meta, 'stories.gguf')
  assert.notEqual(bare.idToToken(bare.encode('Once', { addSpecialTokens: false })[0])![0], '▁')
})

test('bad tokenizer metadata is a FormatError naming the file and key', () => {
  const meta = stories260KMeta()
  const fails = (m: Map<string, GgufValue>, re: RegExp) =>
    assert.throws(
      () => tokenizerFilesFromGguf(m, 'x.gguf'),
      (e: unknown) =>
        e instanceof FormatError && /^x\.gguf: /.test(e.message) && re.test(e.message),
    )
  fails(new Map([...meta, ['tokenizer.ggml.model', 'bert']]), /'bert' is not supported/)
  fails(
    new Map([
      ...meta,
      ['tokenizer.ggml.model', 'gpt2'],
      ['tokenizer.ggml.merges', []],
      ['tokenizer.ggml.pre', 'nope'],
    ]),
    /pre 'nope'/,
  )
  fails(new Map([...meta, ['tokenizer.ggml.bos_token_id', 99999]]), /bos_token_id = 99999/)
  fails(new Map([...meta, ['tokenizer.ggml.scores', [1, 2]]]), /scores is not a list of 512/)
  const noTokens = new Map(meta)
  noTokens.delete('tokenizer.ggml.tokens')
  fails(noTokens, /tokens is missing/)
})

test('loadTokenizer takes a checkpoint tokenizer source of either kind', async () => {
  const folder = await loadTokenizer({ kind: 'hf', dir: join(SHARED, 'models/stories260K') })
  const meta = stories260KMeta()
  const fromMeta = await loadTokenizer({ kind: 'gguf', file: 'stories.gguf', metadata: meta })
  assert.deepEqual(fromMeta.encode('Once upon a time'), folder.encode('Once upon a time'))
})

/** GGUF-style metadata for a byte-level BPE tokenizer.json, typed as llama.cpp's converter does. */
function bpeMetaFrom(dir: string, pre: string): Map<string, GgufValue> {
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'))
  const ids = [
    ...(Object.values(json.model.vocab) as number[]),
    ...json.added_tokens.map((t: { id: number }) => t.id),
  ]
  const size = ids.reduce((a, b) => Math.max(a, b), 0) + 1
  const tokens: string[] = new Array(size).fill('')
  const types: number[] = new Array(size).fill(1)
  for (const [t, id] of Object.entries(json.model.vocab) as [string, number][]) tokens[id] = t
  for (const t of json.added_tokens as { id: number; content: string; special: boolean }[]) {
    tokens[t.id] = t.content
    types[t.id] = t.special ? 3 : 4 // control : user-defined
  }
  const merges = (json.model.merges as (string | string[])[]).map((m) =>
    Array.isArray(m) ? m.join(' ') : m,
  )
  return new Map<string, GgufValue>([
    ['tokenizer.ggml.model', 'gpt2'],
    ['tokenizer.ggml.pre', pre],
    ['tokenizer.ggml.tokens', tokens],
    ['tokenizer.ggml.token_type', types],
    ['tokenizer.ggml.merges', merges],
  ])
}

test('byte-level BPE by pre-tokenizer name: llama-bpe and qwen2 reproduce the Llama 3 and Qwen3 goldens', () => {
  const llamaMeta = bpeMetaFrom(join(SHARED, 'tokenizers/llama3'), 'llama-bpe')
  llamaMeta.set('tokenizer.ggml.bos_token_id', 128000)
  llamaMeta.set('tokenizer.ggml.eos_token_id', 128009)
  const llama = tokenizerFromGguf(llamaMeta, 'llama3.gguf')
  const qwen = tokenizerFromGguf(
    bpeMetaFrom(join(SHARED, 'tokenizers/qwen3'), 'qwen2'),
    'qwen3.gguf',
  )
  const lg = readJson('llama3.golden.json')
  const qg = readJson('qwen3.golden.json')
  for (const [i, { text }] of texts.entries()) {
    // llama.cpp adds BOS for llama-bpe vocabularies (the HF post-processor of this older file does not).
    assert.deepEqual(llama.encode(text), [128000, ...lg.cases[i].idsNoSpecial], lg.cases[i].name)
    assert.equal(llama.decode(lg.cases[i].idsNoSpecial), lg.cases[i].decoded)
    assert.deepEqual(qwen.encode(text), qg.cases[i].ids, qg.cases[i].name)
    assert.equal(
      qwen.decode(qg.cases[i].ids, { skipSpecialTokens: true }),
      qg.cases[i].decodedSkipSpecial,
    )
  }
  assert.equal(qwen.isSpecial(151667), false, '<think> is user-defined: added, not special')
  assert.equal(qwen.bos, undefined)
})
