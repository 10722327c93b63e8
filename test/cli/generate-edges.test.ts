// run / chat / demo and the CLI's own texts on what a new user hit (issue 12): replies cut inside a
// UTF-8 character, Ctrl-D at the chat prompt, run stopping where demo does, `help <verb>`, the
// environment table, and internal errors that must reach the user as one line.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js'
import { loadTokenizer } from '../../src/tokenizer/load.js'
import { ENV_VARS } from '../../src/util/env.js'
import { convertCommand } from '../../src/cli/commands/convert.js'
import { anemll, BIN, TSX } from './run.js'
import { convertedDir, ROOT, STORIES } from '../generate/helpers.js'

const tmp = mkdtempSync(join(tmpdir(), 'anemll-generate-edges-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

let usage: string | undefined
/** `anemll --help`'s output (run once). */
const globalHelp = () => (usage ??= anemll(['--help']).stdout)

// With this seed, temperature 3 draws ids whose 7th (`<0xD3>`-like) opens a two-byte character:
// a reply of 7 tokens stops inside it.
const CUT = ['--temperature', '3', '--seed', '6', '--max-tokens', '7']

test('a reply cut inside a UTF-8 character: no U+FFFD in the terminal, --json or /save', async () => {
  const dir = await convertedDir('fp16')
  const tok = await loadTokenizer((await openCheckpoint(STORIES)).tokenizerSource)
  const json = anemll(['run', '--meta', dir, '--prompt', 'Once', '--no-template', ...CUT, '--json'])
  assert.equal(json.code, 0, json.stderr)
  const j = JSON.parse(json.stdout)
  const lead = Number.parseInt(
    /^<0x([0-9A-F]{2})>$/.exec(tok.idToToken(j.tokens.at(-1)) ?? '')?.[1] ?? '',
    16,
  )
  assert.ok(lead >= 0xc2 && lead <= 0xf4, 'the last id is the first byte of a multi-byte character')
  assert.ok(j.text.length > 0 && !j.text.includes('\ufffd'), JSON.stringify(j.text))
  const term = anemll(['run', '--meta', dir, '--prompt', 'Once', '--no-template', ...CUT])
  assert.equal(term.stdout, `${j.text}\n`)
  const save = join(tmp, 'chat.json')
  const chat = anemll(['chat', '--meta', dir, ...CUT], { input: `Once\n/save ${save}\n` })
  assert.equal(chat.code, 0, chat.stderr)
  assert.ok(!chat.stdout.includes('\ufffd'), JSON.stringify(chat.stdout))
  const saved = JSON.parse(readFileSync(save, 'utf8'))
  assert.equal(chat.stdout, `${saved.messages[1].content}\n`)
})

test('chat: Ctrl-D at the prompt ends its line (a terminal)', async (t) => {
  const python = process.env.ANEMLL_PYTHON ?? 'python3'
  const dir = await convertedDir('fp16')
  const r = spawnSync(
    python,
    [
      join(import.meta.dirname, 'terminal.py'),
      '> ',
      '\\x04',
      '120',
      process.execPath,
      '--import',
      TSX,
      BIN,
      'chat',
      '--meta',
      dir,
    ],
    { encoding: 'utf8', timeout: 300_000 },
  )
  if (r.error) return t.skip(`no ${python} for a pseudo-terminal`)
  assert.equal(r.status, 0, r.stderr + r.stdout)
  // readline's cursor moves aside, what the terminal shows ends with the prompt and a line end
  const shown = r.stdout.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
  assert.match(shown, /> \r?\n$/, JSON.stringify(r.stdout.slice(-40)))
})

test('run stops at the end marker demo stops at (stories260K: BOS), with the same story', () => {
  const dir = join(tmp, 'demo')
  const demo = anemll(['demo', '--keep', dir])
  assert.equal(demo.code, 0, demo.stderr)
  assert.match(demo.stderr, /\[eos\]/)
  const run = anemll([
    ...['run', '--meta', dir, '--prompt', 'Once upon a time'],
    ...'--no-template --max-tokens 400 --json'.split(' '),
  ])
  assert.equal(run.code, 0, run.stderr)
  const j = JSON.parse(run.stdout)
  assert.equal(j.stats.stopReason, 'eos')
  assert.equal(j.stats.stopToken, 1, '<s>')
  assert.ok(j.tokens.length < 400)
  assert.equal(demo.stdout, `Once upon a time${j.text}\n\n`)
})

test("help <verb> prints the verb's help; every summary starts in lower case", () => {
  const help = anemll(['help', 'convert'])
  assert.equal(help.code, 0)
  assert.equal(help.stdout, `${convertCommand.help}\n`)
  assert.match(help.stdout, /^Usage: anemll convert/)
  const summaries = globalHelp().split('Commands:\n')[1].split('\n\n')[0].split('\n')
  assert.ok(summaries.length >= 9)
  for (const line of summaries) assert.match(line, /^ {2}\w+ +[a-z]/, line)
})

test('environment variables: every one read (TypeScript or C) is in one table, in --help and docs/cli.md', () => {
  const read = new Set<string>()
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? (e.name === 'build' ? [] : walk(join(d, e.name))) : [join(d, e.name)],
    )
  for (const f of [...walk(join(ROOT, 'src')), ...walk(join(ROOT, 'native'))]) {
    if (!/\.(ts|c|h)$/.test(f) || f.endsWith('.test.ts')) continue
    const text = readFileSync(f, 'utf8')
    for (const m of text.matchAll(
      /process\.env\.([A-Z][A-Z0-9_]+)|process\.env\[['"]([A-Z0-9_]+)|getenv\("([A-Z0-9_]+)"\)|envVar\('([A-Z0-9_]+)'/g,
    ))
      read.add(m[1] ?? m[2] ?? m[3] ?? m[4])
  }
  const table = Object.keys(ENV_VARS)
  for (const name of read)
    assert.ok(table.includes(name), `${name} is read but not in src/util/env.ts`)
  for (const name of ['ANEMLL_THREADS', 'ANEMLL_NO_SIMD', 'ANEMLL_NATIVE', 'HF_ENDPOINT'])
    assert.ok(read.has(name), name)
  const help = globalHelp()
  const docs = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8')
  for (const name of table) {
    assert.match(help, new RegExp(`^ {2}${name} `, 'm'), `--help lists ${name}`)
    assert.ok(docs.includes(`\`${name}\``), `docs/cli.md documents ${name}`)
  }
})

test('a model part without the function it needs is a one-line error, not a stack trace', async () => {
  const dir = join(tmp, 'bad-part')
  cpSync(await convertedDir('fp16'), dir, { recursive: true })
  const chunk = readdirSync(dir).find((f) => f.includes('_chunk_'))!
  rmSync(join(dir, chunk), { recursive: true })
  cpSync(
    join(
      dir,
      readdirSync(dir).find((f) => f.includes('_embeddings'))!,
    ),
    join(dir, chunk),
    { recursive: true },
  )
  const r = anemll(['run', '--meta', dir, '--prompt', 'x'])
  assert.equal(r.code, 1)
  assert.equal(
    r.stderr,
    `anemll run: ${join(dir, chunk)}: no function 'infer' in program (functions: main)\n`,
  )
})

test('a meta.yaml that is a folder, or /save into a missing folder: one line, and the chat goes on', async () => {
  const odd = join(tmp, 'odd')
  mkdirSync(join(odd, 'meta.yaml'), { recursive: true })
  const r = anemll(['run', '--meta', odd, '--prompt', 'x'])
  assert.equal(r.code, 1)
  assert.equal(r.stderr, `anemll run: ${join(odd, 'meta.yaml')}: not a file\n`)
  const dir = await convertedDir('fp16')
  const input = `/save ${join(tmp, 'no/such/folder.json')}\nOnce\n/stats\n`
  const chat = anemll(['chat', '--meta', dir, '--max-tokens', '3'], { input })
  assert.equal(chat.code, 0, chat.stderr)
  assert.match(chat.stderr, /cannot save to .*folder\.json: ENOENT: no such file or directory\n/)
  assert.match(chat.stderr, /last reply: 3 tokens/, 'the chat went on')
})
