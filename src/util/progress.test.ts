import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Progress, formatBytes, formatDuration, type ProgressStream } from './progress.js'

function sink(isTTY: boolean): ProgressStream & { out: string[] } {
  const out: string[] = []
  return { out, isTTY, columns: 120, write: (s: string) => out.push(s) }
}

test('formatting of bytes and durations', () => {
  assert.equal(formatBytes(0), '0 B')
  assert.equal(formatBytes(1023), '1023 B')
  assert.equal(formatBytes(1536), '1.50 KiB')
  assert.equal(formatBytes(50 * 1024 * 1024), '50.0 MiB')
  assert.equal(formatBytes(3 * 1024 ** 3), '3.00 GiB')
  assert.equal(formatDuration(42), '42s')
  assert.equal(formatDuration(185), '3:05')
  assert.equal(formatDuration(3723), '1:02:03')
  assert.equal(formatDuration(Infinity), '?')
})

test('terminal: redraws in place at most every 100 ms, with speed and ETA', () => {
  let t = 0
  const s = sink(true)
  const p = new Progress({ label: 'x', total: 1000, unit: 'bytes', stream: s, now: () => t })
  for (let i = 1; i <= 100; i++) {
    t = i * 10 // 1 s in 10 ms steps
    p.add(5)
  }
  assert.ok(s.out.length <= 11, `${s.out.length} redraws in 1 s`)
  const drawn = s.out.at(-1)!
  assert.ok(drawn.startsWith('\r') && drawn.endsWith('\x1b[K'), JSON.stringify(drawn))
  const last = p.line()
  assert.match(last, /500 B\/1000 B/)
  assert.match(last, / 50%/)
  assert.match(last, /500 B\/s/)
  assert.match(last, /ETA 1s/)
  p.finish()
  assert.match(s.out.at(-1)!, /100%|500 B\/1000 B/)
  assert.ok(s.out.at(-1)!.endsWith('\n'))
  p.finish()
  assert.equal(s.out.filter((l) => l.endsWith('\n')).length, 1, 'finish is idempotent')
})

test('not a terminal: plain lines every few seconds, no control characters', () => {
  let t = 0
  const s = sink(false)
  const p = new Progress({ label: 'items', total: 10, stream: s, now: () => t, lineMs: 1000 })
  for (let i = 1; i <= 10; i++) {
    t = i * 400
    p.update(i)
  }
  p.finish()
  assert.ok(s.out.length >= 3 && s.out.length <= 6, `${s.out.length} lines`)
  for (const line of s.out) assert.doesNotMatch(line, /[\r\x1b]/)
  assert.match(s.out.at(-1)!, /^items .* 10\/10 .* in 4s\n$/)
})

test('quiet prints nothing; unknown total shows no bar or ETA', () => {
  const s = sink(true)
  const q = new Progress({ label: 'q', total: 5, stream: s, quiet: true })
  q.update(3)
  q.finish()
  assert.equal(s.out.length, 0)
  let t = 0
  const u = new Progress({ label: 'u', stream: s, now: () => t })
  t = 1000
  u.update(7)
  assert.doesNotMatch(s.out.at(-1)!, /ETA|%/)
  assert.match(s.out.at(-1)!, /u {2}7 {2}7\.0\/s/)
})

test('no speed until a second of progress has been seen (no "GiB/s" from the first blob)', () => {
  let t = 0
  const s = sink(false)
  const p = new Progress({ label: 'b', total: 1 << 20, unit: 'bytes', stream: s, now: () => t })
  t = 0.01
  p.update(64 * 1024) // first line: 64 KiB in 10 µs would read 6 GiB/s
  assert.doesNotMatch(s.out[0], /\/s|ETA/)
  t = 2000
  p.update(512 * 1024)
  assert.match(p.line(), /256 KiB\/s {2}ETA 2s/)
  const quick = new Progress({ label: 'q', total: 10, stream: s, now: () => t })
  quick.update(10)
  quick.finish()
  assert.match(s.out.at(-1)!, /^q .* 10\/10 {2}in 0s\n$/)
})
