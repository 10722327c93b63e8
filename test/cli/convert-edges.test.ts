// `anemll convert` on the edge cases a new user hits (issue 12): missing parents, a GGUF in the
// current folder, symlinked outputs, too many chunks, --restart into nothing, leftovers of
// interrupted or earlier conversions, typos in flags, and the progress display.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli/main.js'
import { anemll } from './run.js'
import { STORIES } from '../generate/helpers.js'

const FIXTURES = join(import.meta.dirname, '../fixtures')

const tmp = mkdtempSync(join(tmpdir(), 'anemll-convert-edges-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))
// small and fast: fp16, C = 64, one chunk, no compile step
const FAST = [
  '--context',
  '64',
  '--batch',
  '16',
  '--lut2',
  'none',
  '--lut3',
  'none',
  '--no-compile',
]
const convert = (out: string, extra: string[] = [], cwd?: string) =>
  anemll(['convert', '--model', STORIES, '--output', out, ...FAST, ...extra], { cwd })
const oneLine = (r: { stderr: string }) =>
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)

test('--output with missing parents is created (the README form), a file in the way is one line', () => {
  const cwd = join(tmp, 'fresh')
  mkdirSync(cwd)
  const r = convert('out/stories', ['--chunk', '1', '--quiet'], cwd)
  assert.equal(r.code, 0, r.stderr)
  assert.ok(existsSync(join(cwd, 'out/stories/meta.yaml')))
  writeFileSync(join(cwd, 'afile'), 'x')
  const f = convert('afile/sub', ['--chunk', '1'], cwd)
  assert.equal(f.code, 1)
  oneLine(f)
  assert.match(f.stderr, /afile is a file, not a folder/)
})

test('a GGUF in the current folder converts beside itself; symlinks into the model folder are caught', () => {
  const cwd = join(tmp, 'gguf')
  mkdirSync(cwd)
  copyFileSync(join(FIXTURES, 'checkpoint/qwen3-tiny.gguf'), join(cwd, 'm.gguf'))
  // convert --help's own example: the folder holding the .gguf is not a model folder
  const r = anemll(['convert', '--model', 'm.gguf', '--output', 'out/m', ...FAST, '--chunk', '1'], {
    cwd,
  })
  assert.doesNotMatch(r.stderr, /model folder/)
  assert.ok(existsSync(join(cwd, 'out/m/qwen_embeddings.mlpackage')), r.stderr)
  const same = anemll(['convert', '--model', 'm.gguf', '--output', 'm.gguf'], { cwd })
  assert.equal(same.code, 1)
  assert.match(same.stderr, /--output m\.gguf is the model/)
  symlinkSync(STORIES, join(cwd, 'link'))
  for (const out of ['link', 'link/sub']) {
    const s = anemll(['convert', '--model', STORIES, '--output', out], { cwd })
    assert.equal(s.code, 1, out)
    oneLine(s)
    assert.match(s.stderr, /--output link.* (is|is inside) the model/)
  }
})

test('--chunk above the layer count is refused with the maximum; lint flags a chunk without layers', () => {
  const out = join(tmp, 'chunks')
  const r = convert(out, ['--chunk', '6'])
  assert.equal(r.code, 1)
  oneLine(r)
  assert.match(r.stderr, /--chunk 6 is more than the model's 5 layers; use --chunk 5 at most/)
  assert.ok(!existsSync(out), 'nothing written')
  // the package 7fe35b7 wrote as chunk 6 of 6 of this 5-layer model
  const lint = anemll(['lint', join(FIXTURES, 'empty-chunk')])
  assert.equal(lint.code, 1, lint.stdout)
  assert.match(lint.stdout, /chunk_06of06\.mlpackage: this transformer chunk holds no layers/)
})

test('--restart checks that earlier steps are done; meta.yaml only names parts that exist', async () => {
  const out = join(tmp, 'restart')
  for (const [flags, want] of [
    [['--restart', '9'], /--restart 9: there is no such step \(the steps are 1-8\)/],
    [
      ['--restart', '3'],
      /--restart 3: llama_embeddings\.mlpackage \(step 1\) is not in .*; run from --restart 1/,
    ],
    [['--only', '7'], /--only 7: llama_embeddings\.mlpackage \(step 1\) is not in /],
    [['--restart', '8'], /--restart 8: llama_embeddings\.mlpackage \(step 1\) is not in /],
  ] as const) {
    const r = await inProcess([
      'convert',
      '--model',
      STORIES,
      '--output',
      out,
      ...FAST,
      ...flags,
      '--quiet',
    ])
    assert.equal(r.code, 1, `${flags.join(' ')}: ${r.stderr}`)
    oneLine(r)
    assert.match(r.stderr, want)
    assert.ok(!existsSync(out), 'nothing written')
  }
  assert.equal(convert(out, ['--chunk', '2', '--quiet']).code, 0)
  rmSync(join(out, 'llama_FFN_PF_chunk_02of02.mlpackage'), { recursive: true })
  rmSync(join(out, 'meta.yaml'))
  const r = convert(out, ['--chunk', '2', '--only', '7', '--quiet'])
  assert.equal(r.code, 1)
  assert.match(r.stderr, /--only 7: llama_FFN_PF_chunk_02of02\.mlpackage \(step 3\) is not in /)
  assert.ok(!existsSync(join(out, 'meta.yaml')))
  // a restart whose earlier parts are there goes through
  assert.equal(convert(out, ['--chunk', '2', '--restart', '3', '--quiet']).code, 0)
  assert.ok(existsSync(join(out, 'meta.yaml')))
})

test("leftovers: stale temps and an earlier conversion's parts go; what we did not make stays", () => {
  const out = join(tmp, 'leftovers')
  mkdirSync(out)
  writeFileSync(join(out, 'notes.txt'), 'mine')
  const first = convert(out, ['--chunk', '1', '--quiet'])
  assert.equal(first.code, 0, first.stderr)
  assert.match(first.stderr, /warning: --output .* already holds files that no conversion made/)
  // what a SIGKILLed conversion leaves: a package temp of a process that is gone, a .partial file
  const gone = spawnSync(process.execPath, ['-e', '0']).pid
  const temp = `.llama_embeddings.mlpackage.tmp-${gone}-1700000000000`
  mkdirSync(join(out, temp))
  writeFileSync(join(out, 'meta.yaml.partial'), 'half')
  writeFileSync(join(out, 'other.partial'), 'not ours')
  const lut = convert(out, ['--chunk', '1', '--lut2', '4'])
  assert.equal(lut.code, 0, lut.stderr)
  assert.doesNotMatch(lut.stderr, /warning/)
  const files = readdirSync(out)
  for (const name of [temp, 'meta.yaml.partial', 'llama_FFN_PF_chunk_01of01.mlpackage'])
    assert.ok(!files.includes(name), `${name} removed`)
  for (const name of ['notes.txt', 'other.partial', 'llama_FFN_PF_lut4_chunk_01of01.mlpackage'])
    assert.ok(files.includes(name), `${name} kept`)
  assert.match(readFileSync(join(out, 'meta.yaml'), 'utf8'), /ffn: llama_FFN_PF_lut4_chunk_01of01/)
})

/** `anemll args` in this process (no child start-up: flag errors need no conversion). */
async function inProcess(args: string[], env: NodeJS.ProcessEnv = {}) {
  const saved = { error: console.error, log: console.log, env: { ...process.env } }
  let stderr = ''
  let stdout = ''
  console.error = (...a: unknown[]) => void (stderr += `${a.join(' ')}\n`)
  console.log = (...a: unknown[]) => void (stdout += `${a.join(' ')}\n`)
  Object.assign(process.env, env)
  try {
    return { code: await main(args), stdout, stderr }
  } finally {
    Object.assign(console, { error: saved.error, log: saved.log })
    for (const k of Object.keys(env)) delete process.env[k]
    Object.assign(process.env, saved.env)
  }
}

test('flags: negative numbers and typos get our one-line errors; a missing path that is no Hub id either says both', async () => {
  const cases: [string[], RegExp][] = [
    [['--chunk', '-1'], /--chunk must be an integer >= 1, got '-1'/],
    [
      ['--chunkk', '2'],
      /unknown flag '--chunkk'\. Did you mean '--chunk'\? See 'anemll convert --help'\./,
    ],
    [['--output'], /--output needs a value/],
    [['--quiet=1'], /--quiet takes no value/],
  ]
  for (const [flags, want] of cases) {
    const r = await inProcess(['convert', '--model', STORIES, '--output', join(tmp, 'x'), ...flags])
    assert.equal(r.code, 1, flags.join(' '))
    oneLine(r)
    assert.match(r.stderr, want)
  }
  const run = await inProcess(['run', '--meta', tmp, '--prompt', 'x', '--temperature', '-1'])
  assert.equal(run.code, 1)
  assert.match(run.stderr, /temperature must be a number >= 0, got -1/)
  // offline stands for an unreachable Hub here (no retries to wait for); both take the same path
  const env = { HF_HOME: join(tmp, 'hf'), HF_HUB_OFFLINE: '1' }
  const typo = await inProcess(
    ['convert', '--model', 'models/stories999', '--output', join(tmp, 'y')],
    env,
  )
  assert.equal(typo.code, 1)
  oneLine(typo)
  assert.match(
    typo.stderr,
    /--model models\/stories999: no such local folder or file, and as a Hub id: HF_HUB_OFFLINE is set and models\/stories999@main is not in the cache/,
  )
  // the spawned CLI says the same for an unknown flag (node's own wording never reaches the user)
  const spawned = anemll(['run', '--temprature', '1'])
  assert.equal(spawned.code, 1)
  assert.equal(
    spawned.stderr,
    "anemll run: unknown flag '--temprature'. Did you mean '--temperature'? See 'anemll run --help'.\n",
  )
})

test('progress: one bar per part (same-size chunks too), no speed from the first blob; --quiet prints no table', () => {
  const out = join(tmp, 'progress')
  const r = convert(out, ['--chunk', '5'])
  assert.equal(r.code, 0, r.stderr)
  for (let i = 1; i <= 5; i++) {
    const name = `llama_FFN_PF_chunk_0${i}of05.mlpackage`
    const lines = r.stderr.split('\n').filter((l) => l.startsWith(`${name} `))
    assert.ok(lines.length >= 1, `${name} has its own bar`)
    assert.match(lines.at(-1)!, / in \d+s$/, 'and finishes it')
    // a bar's first reading comes from its first blob, microseconds in: no speed, no ETA yet
    if (lines.length > 1) assert.doesNotMatch(lines[0], /\/s|ETA/)
  }
  assert.match(r.stdout, /ANE check: ok/, 'chunks of one layer are not empty')
  assert.equal(r.stderr.match(/compilation skipped/g)?.length, 1, 'step 6 says it once')
  assert.doesNotMatch(r.stdout, /note:/)
  const quiet = convert(join(tmp, 'quiet'), ['--chunk', '1', '--quiet'])
  assert.equal(quiet.code, 0, quiet.stderr)
  assert.equal(quiet.stdout, '')
  assert.equal(quiet.stderr, '')
})
