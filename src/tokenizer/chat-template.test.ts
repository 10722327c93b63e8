import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChatTemplate, type ChatMessage } from './chat-template.js'
import { Tokenizer } from './tokenizer.js'
import { UsageError } from '../util/errors.js'
import { loadShared } from '../../test/fixtures/tokenizer/shared.js'

// Goldens: jinja2 set up as transformers' apply_chat_template (test/fixtures/tokenizer/chat_golden.py).
const FIXTURES = join(import.meta.dirname, '../../test/fixtures/tokenizer')
const SHARED = process.env.ANEMLL_SHARED ?? join(import.meta.dirname, '../../../shared')

interface Variant {
  name: string
  add_generation_prompt: boolean
  enable_thinking?: boolean
}
const fixture: {
  conversations: { name: string; messages: ChatMessage[] }[]
  variants: Variant[]
} = JSON.parse(readFileSync(join(FIXTURES, 'conversations.json'), 'utf8'))
const golden: {
  templates: Record<string, { special: Record<string, unknown>; renders: Record<string, string> }>
} = JSON.parse(readFileSync(join(FIXTURES, 'chat.golden.json'), 'utf8'))

/** Renders every conversation × variant and compares with the jinja2 goldens of `name`. */
function checkChatGoldens(name: string, chat: ChatTemplate): void {
  const want = golden.templates[name].renders
  let n = 0
  for (const c of fixture.conversations) {
    for (const v of fixture.variants) {
      const got = chat.render(c.messages, {
        addGenerationPrompt: v.add_generation_prompt,
        enableThinking: v.enable_thinking,
      })
      assert.equal(got, want[`${c.name}/${v.name}`], `${name} ${c.name}/${v.name}`)
      n++
    }
  }
  assert.equal(n, Object.keys(want).length)
}

for (const name of ['qwen3', 'llama3']) {
  test(`${name}: chat template renders exactly as jinja2 + transformers' setup`, async () => {
    const tok = await loadShared(name as 'qwen3' | 'llama3')
    const chat = ChatTemplate.fromTokenizer(tok)
    assert.ok(chat)
    assert.equal(ChatTemplate.fromTokenizer(tok), chat, 'compiled once per tokenizer')
    checkChatGoldens(name, chat)
  })
}

test('probe.jinja: loops, namespaces, filters, tojson and HF variables render as in jinja2', () => {
  const source = readFileSync(join(FIXTURES, 'probe.jinja'), 'utf8')
  checkChatGoldens('probe', new ChatTemplate(source, golden.templates.probe.special))
})

// Known differences from jinja2, kept out of probe.jinja; real chat templates do not rely on them.
// If the library changes, this test tells us.
test('known gaps of @huggingface/jinja: boolean printing, string length in UTF-16 units', () => {
  const render = (src: string) => new ChatTemplate(src).render([])
  assert.equal(render('{{ true }}'), 'true', 'jinja2 prints True')
  assert.equal(render("{{ '🙂' | length }}"), '2', 'jinja2 counts code points: 1')
})

test('qwen3: enable_thinking=false adds the empty think block, unset does not', async () => {
  const tok = await loadShared('qwen3')
  const chat = ChatTemplate.fromTokenizer(tok)!
  const msgs = [{ role: 'user', content: 'hi' }]
  assert.ok(chat.render(msgs, { enableThinking: false }).endsWith('<think>\n\n</think>\n\n'))
  assert.ok(chat.render(msgs).endsWith('<|im_start|>assistant\n'))
  assert.ok(!chat.render(msgs, { addGenerationPrompt: false }).includes('assistant'))
})

test('a model without a chat template gives undefined', async () => {
  const tok = await loadShared('stories260K')
  assert.equal(ChatTemplate.fromTokenizer(tok), undefined)
})

test('named template lists and chat_template.jinja files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anemll-chat-'))
  copyFileSync(join(SHARED, 'models/stories260K/tokenizer.json'), join(dir, 'tokenizer.json'))
  const config = {
    bos_token: '<s>',
    chat_template: [
      { name: 'default', template: '{{ bos_token }}{{ messages[0].content }}' },
      { name: 'tool_use', template: 'tools:{{ tools | length }}' },
    ],
  }
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config))
  const tok = await Tokenizer.load(dir)
  const msgs = [{ role: 'user', content: 'x' }]
  assert.equal(ChatTemplate.fromTokenizer(tok)!.render(msgs), '<s>x')
  assert.equal(
    ChatTemplate.fromTokenizer(tok, 'tool_use')!.render(msgs, { tools: [1, 2] }),
    'tools:2',
  )
  assert.throws(() => ChatTemplate.fromTokenizer(tok, 'nope'), /default, tool_use/)

  writeFileSync(join(dir, 'chat_template.jinja'), '[{{ messages | length }}]')
  const tok2 = await Tokenizer.load(dir)
  assert.equal(ChatTemplate.fromTokenizer(tok2)!.render(msgs), '[1]')
})

test('raise_exception in a template is a UsageError; a broken template a FormatError', () => {
  const chat = new ChatTemplate("{{ raise_exception('roles must alternate') }}")
  assert.throws(
    () => chat.render([]),
    (e: unknown) => e instanceof UsageError && /alternate/.test(e.message),
  )
  assert.throws(
    () => new ChatTemplate('{% if %}', {}, 'x.jinja'),
    /x.jinja: chat template does not parse/,
  )
})
