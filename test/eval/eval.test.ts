// `anemll eval` against computations nobody here wrote: transformers' float32 logits and torch's
// perplexity for stories260K (test/fixtures/eval/make_eval_goldens.py), and numpy's KL and top-1
// from our logits and those. The CLI runs as a user runs it.
import { test } from 'node:test'
import { createHash } from 'node:crypto'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { textWindows, type EvalReport } from '../../src/eval/evaluate.js'
import { loadModel } from '../../src/generate/engine.js'
import { anemll } from '../cli/run.js'
import { convertForTest } from '../fidelity/parts.js'
import { SHARED } from '../fixtures/paths.js'
import { noPython, runPythonCode } from '../oracle/python.js'

const GOLDEN = join(import.meta.dirname, '../fixtures/eval/stories260k.json')
const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as {
  ids: number[]
  shape: [number, number]
  sha256: string
  perplexity: number
  source: string
}
const STORIES = join(SHARED, 'models/stories260K')
const tmp = mkdtempSync(join(tmpdir(), 'anemll-eval-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

let fp16: string | undefined
const fp16Dir = async () =>
  (fp16 ??= await convertForTest(STORIES, join(tmp, 'fp16'), { context: 128, batch: 16 }))

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.abs(b)

test('text windows: BOS then context−1 tokens each, every token in exactly one window', () => {
  const ids = Array.from({ length: 10 }, (_, i) => 100 + i)
  const w = textWindows([1], ids, 4)
  assert.deepEqual(w.list, [
    [1, 100, 101, 102],
    [1, 103, 104, 105],
    [1, 106, 107, 108],
    [1, 109],
  ])
  assert.equal(w.stride, 3)
  // without BOS a window's first token is context only; a lone leftover token is not a window
  assert.deepEqual(textWindows([], ids.slice(0, 9), 4).list, [
    [100, 101, 102, 103],
    [104, 105, 106, 107],
  ])
  assert.throws(() => textWindows([1], ids, 2), /no room/)
})

test(
  'eval of stories260K fp16 against transformers float32 logits: perplexity and KL as torch and numpy compute them',
  {
    skip: noPython(),
  },
  async () => {
    const f32 = readFileSync(join(import.meta.dirname, '../fixtures/eval/stories260k.logits.f32'))
    assert.equal(createHash('sha256').update(f32).digest('hex'), golden.sha256, 'golden logits')
    const dir = await fp16Dir()
    // our tokenizer reads the default text as the golden script's `tokenizers` did
    const model = await loadModel(dir)
    const text = readFileSync(
      join(import.meta.dirname, '../../assets/eval/bryant-stories.txt'),
      'utf8',
    )
    const ids = [
      model.tokenizer.bos!.id,
      ...model.tokenizer.encode(text, { addSpecialTokens: false }),
    ]
    assert.deepEqual(ids.slice(0, golden.ids.length), golden.ids, 'first window ids')

    const r = anemll(['eval', dir, '--reference', GOLDEN, '--json', '--quiet'])
    assert.equal(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout) as EvalReport
    const t = report.text!
    assert.equal(t.scored, golden.ids.length - 1)
    // the same logits: our NLL and averaging equal torch's cross_entropy
    assert.ok(relErr(t.referencePerplexity!, golden.perplexity) < 1e-4, `${t.referencePerplexity}`)
    // our fp16 conversion: within 1% of the float32 model's perplexity
    assert.ok(
      relErr(t.perplexity, golden.perplexity) < 0.01,
      `${t.perplexity} vs ${golden.perplexity}`,
    )
    console.log(
      `stories260K fp16: perplexity ${t.perplexity.toFixed(4)} (transformers ${golden.perplexity.toFixed(4)}), ` +
        `KL mean ${report.agreement!.meanKl.toExponential(3)}, top-1 ${report.agreement!.top1}`,
    )

    // numpy's KL(transformers ‖ ours) and top-1 from our logits, taken here without eval's code
    const ours = new Float32Array(golden.shape[0] * golden.shape[1])
    model.forcedLogits(golden.ids, (i, l) => ours.set(l, i * golden.shape[1]))
    const oursFile = join(tmp, 'ours.f32')
    writeFileSync(oursFile, ours)
    const py = runPythonCode(
      `import json, sys, numpy as np
g = json.load(open(sys.argv[1])); P, V = g['shape']
ref = np.fromfile(sys.argv[2], '<f4').reshape(P, V).astype(np.float64)
ours = np.fromfile(sys.argv[3], '<f4').reshape(P, V).astype(np.float64)
def logsm(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))
lp, lq = logsm(ref), logsm(ours)
kl = (np.exp(lp) * (lp - lq)).sum(axis=1)
print(json.dumps({'meanKl': kl.mean(), 'maxKl': kl.max(), 'top1': float((ref.argmax(1) == ours.argmax(1)).mean())}))`,
      [GOLDEN, join(import.meta.dirname, '../fixtures/eval/stories260k.logits.f32'), oursFile],
    )
    assert.equal(py.status, 0, py.stderr)
    const np = JSON.parse(py.stdout) as { meanKl: number; maxKl: number; top1: number }
    const a = report.agreement!
    assert.equal(a.positions, golden.ids.length)
    assert.ok(relErr(a.meanKl, np.meanKl) < 0.01, `mean KL ${a.meanKl} vs numpy ${np.meanKl}`)
    assert.ok(relErr(a.maxKl, np.maxKl) < 0.01, `max KL ${a.maxKl} vs numpy ${np.maxKl}`)
    assert.equal(a.top1, np.top1)
    // fp16 against float32: a small divergence, not none
    assert.ok(a.meanKl > 0 && a.meanKl < 1e-3, `mean KL ${a.meanKl}`)
  },
)

test('eval of a LUT4 conversion against its fp16 conversion: text, KL and greedy prompts', async () => {
  const lut = { bits: 4, groupSize: 8 } as const
  const lutDir = await convertForTest(STORIES, join(tmp, 'lut4'), {
    context: 128,
    batch: 16,
    lut2: lut,
    lut3: lut,
  })
  const prompts = join(tmp, 'prompts.txt')
  writeFileSync(prompts, 'Once upon a time\n\nThe cat sat\n')
  const args = ['eval', lutDir, '--reference', await fp16Dir(), '--max-text-tokens', '300']
  const r = anemll([...args, '--prompts', prompts, '--max-tokens', '8', '--json', '--quiet'])
  assert.equal(r.code, 0, r.stderr)
  const report = JSON.parse(r.stdout) as EvalReport
  assert.deepEqual(
    { tokens: report.text!.tokens, windows: report.text!.windows, scored: report.text!.scored },
    { tokens: 300, windows: 3, scored: 300 },
  )
  const a = report.agreement!
  assert.equal(a.positions, 300 + 3)
  assert.ok(a.meanKl > 1e-3 && a.top1 < 1, 'LUT4 changes the distributions')
  assert.ok(a.top1 > 0.5, `top-1 ${a.top1}`)
  assert.deepEqual(
    report.greedy!.map((g) => g.prompt),
    ['Once upon a time', 'The cat sat'],
  )
  for (const g of report.greedy!) assert.ok(g.matched <= g.compared && g.compared <= 8)
  // the table names what it measured
  const human = anemll([...args, '--max-text-tokens', '50', '--quiet'])
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, /^perplexity +\d/m)
  assert.match(human.stdout, /^KL\(ref ‖ model\) +mean /m)
  assert.match(human.stdout, /^greedy match +\d+\/\d+ tokens over 6 prompts/m)
})

test('eval: bad input is a one-line error naming the flag or file', async () => {
  const dir = await fp16Dir()
  const cases: [string[], RegExp][] = [
    [['eval'], /a converted folder is expected/],
    [['eval', dir, '--max-tokens', '0'], /--max-tokens must be an integer >= 1, got '0'/],
    [['eval', dir, '--text', join(tmp, 'nope.txt')], /--text .*nope\.txt: ENOENT/],
    [
      ['eval', dir, '--prompts', join(tmp, 'nope.txt'), '--max-text-tokens', '0'],
      /--prompts .*ENOENT/,
    ],
  ]
  const bad = join(tmp, 'bad.json')
  writeFileSync(bad, JSON.stringify({ ids: [1, 2], logits: 'short.f32', shape: [2, 512] }))
  writeFileSync(join(tmp, 'short.f32'), new Uint8Array(100))
  cases.push([['eval', dir, '--reference', bad], /short\.f32: 100 bytes, expected 4096/])
  for (const [argv, want] of cases) {
    const r = anemll(argv)
    assert.equal(r.code === 0, false, argv.join(' '))
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    assert.match(lines[0], want)
  }
})
