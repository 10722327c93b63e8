import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { ChatTemplate } from '../tokenizer/chat-template.js'
import { Tokenizer } from '../tokenizer/tokenizer.js'
import { UsageError } from '../util/errors.js'
import { conversationIds, fitConversation, plainText, rawIds } from './prompt.js'

const SHARED = process.env.ANEMLL_SHARED ?? join(import.meta.dirname, '../../../shared')

test('raw text gets BOS; an empty prompt is BOS alone; no BOS token is an error', async () => {
  const stories = await Tokenizer.load(join(SHARED, 'models/stories260K'))
  assert.deepEqual(rawIds(stories, 'Once upon a time'), [1, 403, 407, 261, 378])
  assert.deepEqual(rawIds(stories, ''), [1])
  const qwen = await Tokenizer.load(join(SHARED, 'tokenizers/qwen3'))
  assert.throws(() => rawIds(qwen, ''), UsageError)
})

test('templated conversations are encoded without adding BOS a second time', async () => {
  const tok = await Tokenizer.load(join(SHARED, 'models/stories260K'))
  const tmpl = new ChatTemplate(
    '{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}',
    { bos_token: '<s>' },
  )
  const ids = conversationIds(tok, tmpl, [{ role: 'user', content: 'Hi' }])
  assert.equal(ids[0], 1)
  assert.notEqual(ids[1], 1)
  assert.deepEqual(ids, tok.encode('<s>user: Hi\nassistant:', { addSpecialTokens: false }))
})

test('plain-text mode: contents in order, user turns after the first on a new line', () => {
  const text = plainText([
    { role: 'user', content: 'Once upon a time' },
    { role: 'assistant', content: ', a cat.' },
    { role: 'user', content: 'Then' },
  ])
  assert.equal(text, 'Once upon a time, a cat.\nThen')
})

test('fitConversation drops the oldest pairs, keeps the system message and the last turn', () => {
  const msgs = [
    { role: 'system', content: 'S' },
    { role: 'user', content: 'u1' },
    { role: 'assistant', content: 'a1' },
    { role: 'user', content: 'u2' },
    { role: 'assistant', content: 'a2' },
    { role: 'user', content: 'u3' },
  ]
  const render = (m: readonly { content: string }[]) =>
    m.flatMap((x) => [1, 2, 3].slice(0, x.content.length))
  const r = fitConversation(msgs, 6, render)
  assert.deepEqual(
    r.messages.map((m) => m.content),
    ['S', 'u3'],
  )
  assert.equal(r.droppedMessages, 4)
  assert.equal(r.ids.length, 3)
  // fits: nothing dropped
  assert.equal(fitConversation(msgs, 100, render).droppedMessages, 0)
  // one turn alone is never dropped, even when too long
  assert.equal(fitConversation([{ role: 'user', content: 'long' }], 1, render).messages.length, 1)
})
