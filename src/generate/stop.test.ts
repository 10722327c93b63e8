import { test } from 'node:test'
import assert from 'node:assert/strict'
import { StopStrings } from './stop.js'

/** Streams `pieces` and returns what was emitted and whether it stopped. */
function stream(stops: string[], pieces: string[]): { out: string; stopped: boolean } {
  const s = new StopStrings(stops)
  let out = ''
  for (const p of pieces) {
    const r = s.push(p)
    out += r.text
    if (r.stopped) return { out, stopped: true }
  }
  return { out: out + s.flush(), stopped: false }
}

test('a stop string split across pieces is never emitted; the text before it is', () => {
  assert.deepEqual(stream(['\nUser:'], ['Hello', ' there.', '\nUs', 'er', ': hi']), {
    out: 'Hello there.',
    stopped: true,
  })
  assert.deepEqual(stream(['END'], ['abcEN', 'Dxyz']), { out: 'abc', stopped: true })
})

test('text that only looks like a stop string start is released as soon as it diverges', () => {
  const s = new StopStrings(['</answer>'])
  assert.deepEqual(s.push('x </ans'), { text: 'x ', stopped: false })
  assert.deepEqual(s.push('wer'), { text: '', stopped: false })
  assert.deepEqual(s.push('s are'), { text: '</answers are', stopped: false })
  assert.equal(s.flush(), '')
  // held text comes out at the end when no stop string completes
  assert.deepEqual(stream(['STOP'], ['go ST']), { out: 'go ST', stopped: false })
})

test('the earliest of several stop strings wins; no stop strings passes text through', () => {
  assert.deepEqual(stream(['cat', 'a c'], ['I saw a cat']), { out: 'I saw ', stopped: true })
  assert.deepEqual(stream([], ['a', 'b']), { out: 'ab', stopped: false })
  assert.deepEqual(stream([''], ['a']), { out: 'a', stopped: false })
})
