import { test } from 'node:test'
import assert from 'node:assert/strict'
import { stopTokenIds } from './stop-tokens.js'
import { loadShared } from '../../test/fixtures/tokenizer/shared.js'

test('stop ids: eos lists, tokenizer eos and end-of-turn tokens', async () => {
  const llama = await loadShared('llama3')
  // <|end_of_text|> 128001 is eos and <|eot_id|> 128009 ends a turn; 128008 (<|eom_id|> in 3.1) only via
  // the config; <|begin_of_text|> 128000 would start another document.
  assert.deepEqual(stopTokenIds(llama), [128000, 128001, 128009])
  assert.deepEqual(
    stopTokenIds(llama, { eos_token_id: [128001, 128008, 128009] }),
    [128000, 128001, 128008, 128009],
  )
  const qwen = await loadShared('qwen3')
  assert.deepEqual(stopTokenIds(qwen, { eos_token_id: 151645 }), [151643, 151645])
  const stories = await loadShared('stories260K')
  // llama2.c's stories end with BOS <s> 1
  assert.deepEqual(stopTokenIds(stories, { eos_token_id: 2 }), [1, 2])
  assert.deepEqual(stopTokenIds(stories, { eos_token_id: null }), [1, 2])
})
