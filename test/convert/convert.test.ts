// Conversions of real and generated checkpoints against ANEMLL's contract tables and coremltools.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { lmHeadSplit } from '../../src/convert/parts.js'
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js'
import { convert, convertOptions, type ConvertOptions } from '../../src/convert/pipeline.js'
import { readPackage } from '../../src/package/read.js'
import { programSignature } from '../../src/package/signature.js'
import { palettizer, parseLutSpec } from '../../src/quant/index.js'
import { smollm2Gguf } from '../fixtures/paths.js'
import { noPython, validateAllWithCoremltools } from '../oracle/python.js'
import { DTYPES, evalShape, featureName, ioTable, metaKeys } from './contract.js'

const ROOT = join(import.meta.dirname, '../..')
const STORIES = join(ROOT, '../shared/models/stories260K')
const TINY = (a: string) => join(ROOT, 'test/fixtures/tiny', a)
const tmp = mkdtempSync(join(tmpdir(), 'anemll-convert-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

const base = (model: string, output: string, extra: Partial<ConvertOptions> = {}): ConvertOptions =>
  convertOptions(model, output, { context: 32, batch: 8, compile: 'never', ...extra })
const quiet = { step: () => {} }

async function converted(name: string, model: string, extra: Partial<ConvertOptions> = {}) {
  const out = join(tmp, name)
  const result = await convert(base(model, out, extra), quiet, palettizer(0))
  return { out, result }
}

test('every part of every architecture matches the contract tables', async () => {
  for (const [arch, model] of [
    ['llama', STORIES],
    ['llama3', TINY('llama3')],
    ['qwen3', TINY('qwen3')],
    ['qwen2', TINY('qwen2')],
    ['gemma3', TINY('gemma3')],
  ]) {
    const { out, result } = await converted(`contract-${arch}`, model)
    const cfg = (await openCheckpoint(model)).config
    const meta = parseYaml(readFileSync(join(out, 'meta.yaml'), 'utf8'))
    const p = meta.model_info.parameters
    const K = p.split_lm_head
    const sym = {
      H: cfg.hidden_size,
      B: 8,
      C: 32,
      S: 32,
      L: cfg.num_hidden_layers,
      nKV: cfg.num_key_value_heads,
      hd: cfg.head_dim,
    }
    const sizes = lmHeadSplit(cfg.vocab_size, K)
    const pkg = (f: string) => join(out, f.replace(/\.mlmodelc$/, '.mlpackage'))
    const check = (
      sigs: ReturnType<typeof programSignature>,
      fn: string,
      table: string,
      opts: { lastChunk?: boolean } = {},
    ) => {
      const sig = sigs[fn]
      for (const row of ioTable(table)) {
        const list =
          row.kind === 'input' ? sig.inputs : row.kind === 'state' ? sig.states : sig.outputs
        if (row.name.includes('…')) {
          // logits1 … logitsK: one output per LM-head split
          assert.deepEqual(
            list.map((t) => t.name),
            sizes.map((_, i) => `logits${i + 1}`),
            `${arch} ${table}`,
          )
          list.forEach((t, i) =>
            assert.deepEqual(t.shape, [1, 1, sizes[i]], `${arch} logits${i + 1}`),
          )
          continue
        }
        const got = list.find((t) => t.name === featureName(row.name))
        assert.ok(got, `${arch} §${table} ${row.kind} ${row.name} is missing`)
        assert.equal(
          got.dtype,
          DTYPES[row.type.split(' ')[0]],
          `${arch} §${table} ${row.name} dtype`,
        )
        let shapeText = row.shape
        if (shapeText.includes('last chunk'))
          shapeText = shapeText.split(';')[opts.lastChunk ? 1 : 0]
        if (shapeText.includes('enumerated')) continue // checked below from the description
        // "`[1,1,H]` or `[1,B,H]`": a flexible dim (null) covers each listed shape.
        for (const alt of shapeText.split(' or ')) {
          const want = evalShape(alt, sym)
          const fits =
            want.length === got.shape.length &&
            want.every((d, j) => got.shape[j] === null || got.shape[j] === d)
          assert.ok(fits, `${arch} §${table} ${row.name} shape [${got.shape}] vs documented ${alt}`)
        }
      }
      assert.equal(
        list0(sig).length,
        ioTable(table).filter((r) => r.kind === 'input').length,
        `${arch} §${table}: no extra inputs`,
      )
    }
    const emb = readPackage(pkg(p.embeddings))
    check(programSignature(emb.program), 'main', '2.1')
    assert.deepEqual(emb.program.functions[0].inputs[0].flexibility, {
      kind: 'enumerated',
      shapes: [
        [1, 1],
        [1, 8],
      ],
    })
    for (let i = 1; i <= p.num_chunks; i++) {
      const file = p.ffn.replace('_chunk_01of', `_chunk_${String(i).padStart(2, '0')}of`)
      const chunk = readPackage(pkg(file))
      assert.equal(chunk.program.defaultFunction, 'infer')
      const sigs = programSignature(chunk.program)
      check(sigs, 'infer', '2.2')
      check(sigs, 'prefill', '2.3', { lastChunk: i === p.num_chunks })
    }
    check(programSignature(readPackage(pkg(p.lm_head)).program), 'main', '2.7')
    assert.equal(
      result.findings.filter((f) => f.severity === 'error').length,
      0,
      JSON.stringify(result.findings),
    )
  }
})

const list0 = (s: { inputs: unknown[] }) => s.inputs

test('meta.yaml has every key of the contract, with the documented types', async () => {
  const { out } = await converted('meta', TINY('qwen3'), { lut1: undefined })
  const meta = parseYaml(readFileSync(join(out, 'meta.yaml'), 'utf8'))
  for (const { key, type } of metaKeys()) {
    // `parameters` sits inside model_info in the file (2-space indent, contract §1.9 layout).
    const path = key.startsWith('parameters.') ? `model_info.${key}` : key
    const value = path
      .split('.')
      .reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], meta)
    assert.ok(value !== undefined, `meta.yaml lacks ${key}`)
    if (type === 'int') assert.equal(typeof value, 'number', key)
    if (type.startsWith('int or')) assert.ok(typeof value === 'number' || value === 'none', key)
    if (type.startsWith('string')) assert.equal(typeof value, 'string', key)
  }
  assert.equal(meta.model_info.version, '0.3.5')
  assert.equal(meta.model_info.parameters.split_lm_head, 16)
  assert.equal(meta.model_info.parameters.ffn, 'qwen_FFN_PF_chunk_01of02.mlmodelc')
  // The app parses meta.yaml line by line: model_info fields at 2 spaces, parameters at 4.
  const text = readFileSync(join(out, 'meta.yaml'), 'utf8')
  assert.match(text, /^model_info:\n {2}name: anemll-qwen3-ctx32\n/)
  assert.match(text, /\n {2}parameters:\n {4}context_length: 32\n/)
})

test('argmax LM head outputs argmax_idx / argmax_val [K]; monolithic has infer and prefill', async () => {
  const { out } = await converted('argmax', TINY('llama3'), { argmax: true })
  const head = readPackage(join(out, 'llama_lm_head.mlpackage'))
  const sig = programSignature(head.program).main
  assert.deepEqual(sig.outputs, [
    { name: 'argmax_idx', dtype: 'int32', shape: [8] },
    { name: 'argmax_val', dtype: 'fp16', shape: [8] },
  ])
  assert.equal(head.metadata.userDefined['com.anemll.argmax_in_model'], 'true')
  const mono = await converted('mono', TINY('qwen2'), { monolithic: true })
  const m = readPackage(join(mono.out, 'qwen25_monolithic_full.mlpackage'))
  assert.deepEqual(
    m.program.functions.map((f) => f.name),
    ['infer', 'prefill'],
  )
  const meta = parseYaml(readFileSync(join(mono.out, 'meta.yaml'), 'utf8'))
  assert.equal(meta.model_info.model_type, 'monolithic')
  assert.equal(meta.model_info.parameters.monolithic_model, 'qwen25_monolithic_full.mlmodelc')
})

test('converting the same input twice gives byte-identical packages', async () => {
  const a = await converted('det-a', TINY('qwen3'))
  const b = await converted('det-b', TINY('qwen3'))
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) =>
      statSync(join(dir, n)).isDirectory() ? files(join(dir, n)).map((f) => join(n, f)) : [n],
    )
  const pkgs = files(a.out)
    .filter((f) => f.includes('.mlpackage'))
    .sort()
  assert.ok(pkgs.length >= 8)
  assert.deepEqual(
    files(b.out)
      .filter((f) => f.includes('.mlpackage'))
      .sort(),
    pkgs,
  )
  for (const f of pkgs)
    assert.ok(readFileSync(join(a.out, f)).equals(readFileSync(join(b.out, f))), f)
})

test('a rerun resumes: finished parts are kept, --only redoes one step', async () => {
  const out = join(tmp, 'resume')
  const first = await convert(base(STORIES, out), quiet)
  assert.ok(first.parts.every((p) => !p.skipped))
  const again = await convert(base(STORIES, out), quiet)
  assert.ok(again.parts.length === first.parts.length && again.parts.every((p) => p.skipped))
  const only = await convert(base(STORIES, out, { only: 2 }), quiet)
  assert.deepEqual(
    only.parts.filter((p) => !p.skipped).map((p) => p.file),
    ['llama_lm_head.mlpackage'],
  )
})

test(
  'every part of every fixture, fp16 and LUT, passes the coremltools oracle and the lint',
  { skip: noPython() },
  async () => {
    const lut = {
      lut1: parseLutSpec('6', '--lut1'),
      lut2: parseLutSpec('4', '--lut2'),
      lut3: parseLutSpec('6', '--lut3'),
    }
    const jobs: [string, string, Partial<ConvertOptions>][] = []
    for (const [arch, model] of [
      ['stories', STORIES],
      ['llama3', TINY('llama3')],
      ['qwen3', TINY('qwen3')],
      ['qwen2', TINY('qwen2')],
      ['gemma3', TINY('gemma3')],
    ]) {
      jobs.push([`oracle-${arch}-fp16`, model, {}], [`oracle-${arch}-lut`, model, lut])
    }
    const smol = smollm2Gguf()
    if (smol)
      jobs.push(
        ['oracle-smollm2-fp16', smol, { chunks: 1, context: 256, batch: 64 }],
        ['oracle-smollm2-lut', smol, { ...lut, chunks: 1, context: 256, batch: 64 }],
      )
    else if (process.env.CI) assert.fail('SmolLM2 GGUF fixture missing: run scripts/fixtures.sh')
    const pkgs: string[] = []
    for (const [name, model, extra] of jobs) {
      const { out, result } = await converted(name, model, extra)
      assert.deepEqual(
        result.findings.filter((f) => f.severity === 'error'),
        [],
        `${name}: lint errors`,
      )
      if (extra.lut2)
        assert.ok(
          result.parts.some((p) => p.quant.length > 0),
          `${name}: some weights were palettized`,
        )
      pkgs.push(
        ...readdirSync(out)
          .filter((f) => f.endsWith('.mlpackage'))
          .map((f) => join(out, f)),
      )
    }
    const reports = await validateAllWithCoremltools(pkgs)
    reports.forEach((r, i) => {
      assert.equal(r.ok, true, `${pkgs[i]}: ${r.error}`)
      assert.deepEqual(
        r.functions,
        programSignature(readPackage(pkgs[i]).program),
        `${pkgs[i]}: coremltools' inferred signatures`,
      )
    })
  },
)
