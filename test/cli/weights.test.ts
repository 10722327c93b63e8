// `inspect` and `lint` check every weight blob a package refers to (the file's header, each
// record within the file, its dtype and size), so a truncated, empty or missing weight.bin is an
// error there and not only when `run` loads the weights.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { anemll } from './run.js'

const FIXTURE = join(import.meta.dirname, '../fixtures/coremltools/lut.mlpackage')
const tmp = mkdtempSync(join(tmpdir(), 'anemll-weights-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

const damage: [string, (file: string) => void, RegExp][] = [
  [
    'truncated',
    (f) => truncateSync(f, 700),
    /blob at offset \d+: .*outside the file \(700 bytes\)/,
  ],
  ['empty', (f) => writeFileSync(f, ''), /weight file is 0 bytes, shorter than its 64-byte header/],
  ['missing', (f) => unlinkSync(f), /missing weight file \(needed by main\//],
]

test('inspect and lint pass the intact package', () => {
  assert.equal(anemll(['inspect', FIXTURE]).code, 0)
  const lint = anemll(['lint', FIXTURE])
  assert.equal(lint.code, 0, lint.stdout)
})

for (const [what, spoil, problem] of damage)
  test(`inspect and lint reject a package whose weight.bin is ${what}`, () => {
    const pkg = join(tmp, `${what}.mlpackage`)
    cpSync(FIXTURE, pkg, { recursive: true })
    spoil(join(pkg, 'Data/com.apple.CoreML/weights/weight.bin'))

    const inspect = anemll(['inspect', pkg])
    assert.equal(inspect.code, 1)
    assert.equal(inspect.stdout, '')
    assert.equal(inspect.stderr.trim().split('\n').length, 1, inspect.stderr)
    assert.match(inspect.stderr, /weights\/weight\.bin: /)
    assert.match(inspect.stderr, problem)

    const lint = anemll(['lint', tmp])
    assert.equal(lint.code, 1)
    const line = lint.stdout.split('\n').find((l) => l.includes(`${what}.mlpackage`))
    assert.match(line ?? '', /^error +\S+: .*weight\.bin: /)
    assert.match(line ?? '', problem)
    assert.match(lint.stdout, /[1-9]\d* error\(s\)/)
    rmSync(pkg, { recursive: true })
  })
