import { test } from 'node:test'
import assert from 'node:assert/strict'
import { State } from '../runtime/index.js'
import {
  commonPrefix,
  defaultPadPrefill,
  KvCache,
  PAD_ID,
  padThreshold,
  windowKeep,
} from './cache.js'
import type { HeadOutput } from './head.js'
import type { Runner } from './parts.js'

// A stand-in model whose cache rows hold the ids themselves: infer at `pos` answers with the ids
// in rows 0..pos, so a test sees exactly which sequence the "model" attended to.
function fakeRunner(C: number, B: number) {
  const calls: string[] = []
  const batches: number[][] = []
  const rows = (s: State) => s.get('rows').data as Int32Array
  const runner: Runner = {
    context: C,
    batch: B,
    argmax: false,
    newState() {
      const s = new State()
      s.declare({ name: 'rows', dtype: 'int32', shape: [C] })
      return s
    },
    prefill(state, ids, start) {
      assert.equal(ids.length, B, 'prefill takes exactly B ids')
      assert.ok(start >= 0 && start + B <= C, `prefill rows ${start}..${start + B - 1} fit`)
      calls.push(`prefill@${start}`)
      batches.push([...ids])
      rows(state).set(ids, start)
    },
    infer(state: State, id: number, pos: number, head: boolean) {
      assert.ok(pos >= 0 && pos < C, `infer position ${pos} fits`)
      calls.push(`infer@${pos}${head ? '+head' : ''}`)
      rows(state)[pos] = id
      const seen = Float32Array.from(rows(state).subarray(0, pos + 1))
      return (head ? { kind: 'logits', logits: seen } : undefined) as HeadOutput
    },
  }
  return { runner, calls, batches }
}

const seen = (out: HeadOutput | undefined) =>
  out?.kind === 'logits' ? Array.from(out.logits) : undefined
const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i)
// ANEMLL 0.3.5's exact calls: the leftover after the full batches goes through infer.
const ANEMLL = { padPrefill: false } as const

test("windowKeep is ANEMLL's new_size = min(max(1, C div B - 2)·B, max(1, C - B))", () => {
  assert.equal(windowKeep(512, 64), 384) // the contract's example
  assert.equal(windowKeep(256, 32), 192)
  assert.equal(windowKeep(64, 16), 32)
  assert.equal(windowKeep(128, 64), 64) // max(1, 2 - 2)·64 = 64 = C - B
  assert.equal(windowKeep(64, 64), 1) // C = B: one token survives
  assert.equal(commonPrefix([1, 2, 3], [1, 2, 4, 5]), 2)
  assert.equal(commonPrefix([], [1]), 0)
})

test('fill (padPrefill false): full batches through prefill, the rest through infer, head on the last id only', async () => {
  const { runner, calls } = fakeRunner(64, 8)
  const cache = new KvCache(runner, ANEMLL)
  const ids = range(100, 19)
  const r = await cache.fill(ids)
  assert.deepEqual(calls, ['prefill@0', 'prefill@8', 'infer@16', 'infer@17', 'infer@18+head'])
  assert.deepEqual(seen(r.out), ids)
  assert.deepEqual(cache.tokens, ids)
  assert.deepEqual([r.reused, r.fed, r.dropped], [0, 19, 0])
})

test('fill: a prompt of whole batches re-feeds its last id through infer for the logits', async () => {
  const { runner, calls } = fakeRunner(64, 8)
  const cache = new KvCache(runner)
  const r = await cache.fill(range(1, 16))
  assert.deepEqual(calls, ['prefill@0', 'prefill@8', 'infer@15+head'])
  assert.deepEqual(seen(r.out), range(1, 16))
})

test('fill pads the leftover into one more prefill, then re-feeds the last id for the head', async () => {
  const { runner, calls, batches } = fakeRunner(64, 8)
  const cache = new KvCache(runner)
  assert.equal(cache.padPrefill, 2) // ⌈8/5⌉
  const ids = range(100, 19)
  const r = await cache.fill(ids)
  assert.deepEqual(calls, ['prefill@0', 'prefill@8', 'prefill@16', 'infer@18+head'])
  // the 3 real ids, then padding up to B
  assert.deepEqual(batches[2], [116, 117, 118, ...new Array(5).fill(PAD_ID)])
  assert.deepEqual(seen(r.out), ids)
  // padding rows 19..23 were written but are stale: tokens holds the real ids only
  assert.deepEqual(cache.tokens, ids)
  assert.deepEqual([r.reused, r.fed, r.dropped], [0, 19, 0])
  // decoding goes on at row 19, which the next id rewrites before anything attends to it
  const next = await cache.step(7)
  assert.deepEqual(seen(next.out), [...ids, 7])
  // a resumed fill pads too: common prefix 5, then 8 + 4 new ids
  calls.length = 0
  const second = [...ids.slice(0, 5), ...range(50, 12)]
  const again = await cache.fill(second)
  assert.deepEqual(calls, ['prefill@5', 'prefill@13', 'infer@16+head'])
  assert.deepEqual(batches.at(-1), [...range(58, 4), 0, 0, 0, 0])
  assert.deepEqual(seen(again.out), second)
})

test('padPrefill is the smallest leftover worth a padded prefill; smaller ones go through infer', async () => {
  const { runner, calls } = fakeRunner(64, 8)
  const cache = new KvCache(runner, { padPrefill: 4 })
  await cache.fill(range(1, 11)) // leftover 3 < 4
  assert.deepEqual(calls, ['prefill@0', 'infer@8', 'infer@9', 'infer@10+head'])
  cache.reset()
  calls.length = 0
  await cache.fill(range(1, 12)) // leftover 4
  assert.deepEqual(calls, ['prefill@0', 'prefill@8', 'infer@11+head'])
  // padPrefill 1 pads even a single id; B − 1 ids are padded with one id
  const one = fakeRunner(64, 8)
  const r = await new KvCache(one.runner, { padPrefill: 1 }).fill(range(1, 9))
  assert.deepEqual(one.calls, ['prefill@0', 'prefill@8', 'infer@8+head'])
  assert.deepEqual(one.batches[1], [9, 0, 0, 0, 0, 0, 0, 0])
  assert.deepEqual(seen(r.out), range(1, 9))
  const most = fakeRunner(64, 8)
  await new KvCache(most.runner).fill(range(1, 7))
  assert.deepEqual(most.calls, ['prefill@0', 'infer@6+head'])
  assert.deepEqual(most.batches[0], [...range(1, 7), 0])
})

test('the padPrefill option: default ⌈B/5⌉, false or Infinity for never, integers ≥ 1 only', () => {
  assert.equal(defaultPadPrefill(64), 13)
  assert.equal(defaultPadPrefill(16), 4)
  assert.equal(defaultPadPrefill(8), 2)
  assert.equal(defaultPadPrefill(1), 1)
  assert.equal(padThreshold(undefined, 64), 13)
  assert.equal(padThreshold(false, 64), Infinity)
  assert.equal(padThreshold(Infinity, 64), Infinity)
  assert.equal(padThreshold(5, 64), 5)
  for (const bad of [0, -1, 1.5, NaN])
    assert.throws(() => padThreshold(bad, 64), { name: 'UsageError', message: /padPrefill/ })
  const { runner } = fakeRunner(16, 8)
  assert.throws(() => new KvCache(runner, { padPrefill: 0 }), /padPrefill/)
})

test('near the end of the window (p + B > C) the leftover goes through infer', async () => {
  const { runner, calls } = fakeRunner(32, 8)
  const cache = new KvCache(runner, { padPrefill: 1 })
  const first = range(1, 20)
  await cache.fill(first) // prefill@0, @8, padded @16
  calls.length = 0
  // 10 new ids at 20: one full batch fits (20..27), the last 2 cannot be padded past row 31
  const ids = [...first, ...range(50, 10)]
  const r = await cache.fill(ids)
  assert.deepEqual(calls, ['prefill@20', 'infer@28', 'infer@29+head'])
  assert.deepEqual(seen(r.out), ids)
  // a full batch that would cross C goes through infer too
  calls.length = 0
  const late = [...ids.slice(0, 26), ...range(70, 6)]
  await cache.fill(late)
  assert.deepEqual(
    calls,
    range(26, 5)
      .map((p) => `infer@${p}`)
      .concat('infer@31+head'),
  )
  // C − 1 ids from 0 still fit one padded batch when B = C
  const small = fakeRunner(8, 8)
  await new KvCache(small.runner, { padPrefill: 1 }).fill(range(1, 7))
  assert.deepEqual(small.calls, ['prefill@0', 'infer@6+head'])
})

test('the window shift re-feeds through padded prefill too (C = B: one id kept)', async () => {
  const { runner, calls, batches } = fakeRunner(8, 8)
  const cache = new KvCache(runner, { padPrefill: 1 })
  await cache.fill(range(1, 8))
  calls.length = 0
  const r = await cache.step(9)
  assert.equal(r.shifted, 8)
  assert.deepEqual(calls, ['prefill@0', 'infer@0+head'])
  assert.deepEqual(batches.at(-1), [9, 0, 0, 0, 0, 0, 0, 0])
  assert.deepEqual(seen(r.out), [9])
  assert.deepEqual(cache.tokens, [9])
  const next = await cache.step(10)
  assert.deepEqual(seen(next.out), [9, 10])
})

test('fill without batch prefill feeds every id through infer', async () => {
  const { runner, calls } = fakeRunner(64, 8)
  await new KvCache(runner, { batchPrefill: false, padPrefill: 1 }).fill(range(1, 10))
  assert.deepEqual(calls, [...range(0, 9).map((p) => `infer@${p}`), 'infer@9+head'])
})

test('fill keeps the common prefix: only the new ids are fed, batches start anywhere', async () => {
  const { runner, calls } = fakeRunner(64, 8)
  const cache = new KvCache(runner, ANEMLL)
  const first = range(1, 11)
  await cache.fill(first)
  calls.length = 0
  // an edit at position 5: rows from 5 on are fed again
  const second = [...first.slice(0, 5), ...range(50, 12)]
  const r = await cache.fill(second)
  assert.deepEqual(calls, ['prefill@5', 'infer@13', 'infer@14', 'infer@15', 'infer@16+head'])
  assert.deepEqual(seen(r.out), second)
  assert.deepEqual([r.reused, r.fed], [5, 12])
  // the same ids again: the last one is fed again for its logits
  calls.length = 0
  const again = await cache.fill(second)
  assert.deepEqual(calls, ['infer@16+head'])
  assert.deepEqual(seen(again.out), second)
  // a shorter prefix of what is cached: stale rows are simply forgotten
  calls.length = 0
  const back = await cache.fill(second.slice(0, 3))
  assert.deepEqual(calls, ['infer@2+head'])
  assert.deepEqual(seen(back.out), second.slice(0, 3))
  assert.deepEqual(cache.tokens, second.slice(0, 3))
})

test('step uses every row, then shifts: the last new_size ids re-fed from 0 on a zeroed cache', async () => {
  const C = 32
  const B = 8
  const { runner, calls } = fakeRunner(C, B)
  const cache = new KvCache(runner)
  const seq = range(1, 30)
  await cache.fill(seq)
  assert.deepEqual(calls, ['prefill@0', 'prefill@8', 'prefill@16', 'prefill@24', 'infer@29+head'])
  for (const id of [31, 32]) {
    const r = await cache.step(id)
    seq.push(id)
    assert.equal(r.shifted, undefined)
    assert.deepEqual(seen(r.out), seq)
  }
  assert.equal(cache.tokens.length, C) // all 32 rows in use, no shift yet
  calls.length = 0
  const r = await cache.step(33)
  seq.push(33)
  const keep = windowKeep(C, B) // 16
  assert.equal(r.shifted, seq.length - keep)
  assert.deepEqual(seen(r.out), seq.slice(-keep))
  assert.deepEqual(cache.tokens, seq.slice(-keep))
  assert.deepEqual(calls, ['prefill@0', 'prefill@8', 'infer@15+head'])
  assert.ok((cache.state.get('rows').data as Int32Array).subarray(keep).every((x) => x === 0))
  // generation goes on after the shift, at position keep
  const next = await cache.step(34)
  assert.deepEqual(seen(next.out), [...seq.slice(-keep), 34])
})

test('fill of more ids than the window keeps the last new_size of them', async () => {
  const { runner } = fakeRunner(32, 8)
  const cache = new KvCache(runner)
  const ids = range(1, 40)
  const r = await cache.fill(ids)
  assert.equal(r.dropped, 40 - 16)
  assert.deepEqual(seen(r.out), ids.slice(-16))
  // exactly C ids fit without dropping any
  const full = await cache.fill(range(1, 32))
  assert.equal(full.dropped, 0)
})

test('fill stops between model calls when aborted; the cache holds what was fed', async () => {
  const { runner, calls } = fakeRunner(64, 8)
  const cache = new KvCache(runner)
  const ac = new AbortController()
  const origPrefill = runner.prefill
  runner.prefill = (s, ids, start) => {
    origPrefill(s, ids, start)
    ac.abort()
  }
  const r = await cache.fill(range(1, 20), ac.signal)
  assert.equal(r.out, undefined)
  assert.deepEqual(calls, ['prefill@0'])
  assert.deepEqual(cache.tokens, range(1, 8))
})

test('an abort after a padded prefill leaves the real ids only in the cache', async () => {
  const { runner, calls } = fakeRunner(64, 8)
  const cache = new KvCache(runner, { padPrefill: 1 })
  const ac = new AbortController()
  const origPrefill = runner.prefill
  runner.prefill = (s, ids, start) => {
    origPrefill(s, ids, start)
    if (start === 8) ac.abort()
  }
  const r = await cache.fill(range(1, 11), ac.signal)
  assert.equal(r.out, undefined)
  assert.deepEqual(calls, ['prefill@0', 'prefill@8'])
  assert.deepEqual(cache.tokens, range(1, 11))
  assert.equal(r.fed, 11)
})
