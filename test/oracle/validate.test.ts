// The coremltools oracle itself: it accepts the real packages and our fixtures, reports the
// signatures coremltools infers, and rejects corrupted copies.
import assert from 'node:assert/strict'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { after, describe, test } from 'node:test'

import type { OracleReport, OracleTensor } from './python.js'
import { noPython, ORACLE_DIR, runPython, validateAllWithCoremltools } from './python.js'

const SHARED = process.env.ANEMLL_SHARED ?? resolve(ORACLE_DIR, '../../../shared')
const REAL = join(SHARED, 'models/coreml')
const FIXTURES = resolve(ORACLE_DIR, '../fixtures/coremltools')
const DTYPES = new Set(['fp16', 'fp32', 'int32', 'int8', 'bool'])

function realPackages(): string[] {
  if (!existsSync(REAL)) return []
  return readdirSync(REAL, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(REAL, d.name))
        .filter((n) => n.endsWith('.mlpackage'))
        .map((n) => join(REAL, d.name, n)),
    )
    .sort()
}

const fixtureNames = existsSync(FIXTURES)
  ? readdirSync(FIXTURES)
      .filter((n) => n.endsWith('.expected.json'))
      .map((n) => n.replace('.expected.json', ''))
  : []

// Corrupted copies of the fixtures: [title, fixture, corrupt_mlpackage.py job, expected error].
const CORRUPTIONS: [string, string, string, RegExp][] = [
  ['op output declares a wrong shape', 'stateful', 'op-shape:proj', /op conv -> proj: .*Mismatch/],
  [
    'stateful op declares a wrong shape',
    'stateful',
    'op-shape:cache_upd',
    /slice_update -> cache_upd/,
  ],
  ['const declares more elements than its blob', 'plain', 'const-shape:fc1_weight_0', /blob size/],
  [
    'const declares another dtype than its blob',
    'multifunction',
    'blob-dtype:proj_weight_0',
    /blob dtype/,
  ],
  ['weight.bin is truncated', 'lut', 'truncate-weights', /blob size\/padding\/offset/],
  ['a directory without Manifest.json', 'plain', 'no-manifest', /Manifest\.json/],
  ['an untouched copy (the control)', 'stateful', 'none', /^$/],
]

const tmp = mkdtempSync(join(tmpdir(), 'anemll-oracle-'))
after(() => rmSync(tmp, { recursive: true, force: true }))
const copies = CORRUPTIONS.map(([, fixture], i) => join(tmp, `${i}-${fixture}.mlpackage`))

// Importing coremltools costs seconds: validate everything in two processes (one per core),
// started by the first test that needs a report.
let reports: Map<string, Promise<OracleReport>> | undefined
function reportFor(pkg: string): Promise<OracleReport> {
  reports ??= validateEverything()
  const r = reports.get(pkg)
  assert.ok(r, `${pkg} is not in the batch`)
  return r
}

function validateEverything(): Map<string, Promise<OracleReport>> {
  const jobs: string[] = []
  CORRUPTIONS.forEach(([, fixture, job], i) => {
    cpSync(join(FIXTURES, `${fixture}.mlpackage`), copies[i], { recursive: true })
    if (job === 'no-manifest') rmSync(join(copies[i], 'Manifest.json'))
    else if (job !== 'none') jobs.push(`${copies[i]}:${job}`)
  })
  const r = runPython('corrupt_mlpackage.py', jobs)
  assert.equal(r.status, 0, r.stderr)
  const map = new Map<string, Promise<OracleReport>>()
  const batch = (pkgs: string[], roundtrip: boolean): void => {
    const all = validateAllWithCoremltools(pkgs, { roundtrip })
    pkgs.forEach((p, i) => {
      const one = all.then((rs) => rs[i])
      one.catch(() => {}) // awaited (and reported) by the tests; no unhandled-rejection crash
      map.set(p, one)
    })
  }
  batch(realPackages(), false)
  batch([...fixtureNames.map((n) => join(FIXTURES, `${n}.mlpackage`)), ...copies], true)
  return map
}

// What the shared models' README says about each package (spec version, notable ops).
const KNOWN: Record<string, { spec: number; ops: Record<string, number> }> = {
  'DTLN_AEC_128_Part1.mlpackage': { spec: 7, ops: { while_loop: 2 } },
  'DTLN_AEC_128_Part2.mlpackage': { spec: 7, ops: { while_loop: 2 } },
  'silero-vad-unified-v6.0.0.mlpackage': { spec: 6, ops: { lstm: 1 } },
  'unified_palette_4bit.mlpackage': { spec: 7, ops: { constexpr_lut_to_dense: 7 } },
  'unified_pruned_int8.mlpackage': {
    spec: 7,
    ops: { constexpr_affine_dequantize: 6, constexpr_sparse_to_dense: 1 },
  },
}

function assertSaneTensor(t: OracleTensor, where: string): void {
  assert.match(t.name, /^[A-Za-z_][A-Za-z0-9_]*$/, where)
  assert.ok(DTYPES.has(t.dtype), `${where}: dtype ${t.dtype}`)
  assert.ok(Array.isArray(t.shape) && t.shape.length > 0, `${where}: shape`)
  for (const d of t.shape) assert.ok(d === null || (Number.isInteger(d) && d > 0), `${where}: ${d}`)
}

function assertSane(r: OracleReport, pkg: string): void {
  assert.equal(r.ok, true, `${pkg}: ${r.error}`)
  assert.ok(r.specVersion! >= 6 && r.specVersion! <= 9)
  assert.ok(r.defaultFunction! in r.functions!)
  for (const [name, fn] of Object.entries(r.functions!)) {
    assert.ok(fn.inputs.length > 0 && fn.outputs.length > 0, `${name}: empty signature`)
    for (const t of [...fn.inputs, ...fn.outputs, ...fn.states]) {
      assertSaneTensor(t, `${name}.${t.name}`)
    }
    const ops = r.opCounts![name]
    assert.ok(Object.values(ops).reduce((a, b) => a + b, 0) > 0)
  }
}

describe('validate_mlpackage.py on the real packages in shared/models/coreml', () => {
  const pkgs = realPackages()
  test('the shared models are there', () => {
    assert.ok(pkgs.length >= 5, `expected >= 5 packages under ${REAL}, found ${pkgs.length}`)
  })
  for (const pkg of pkgs) {
    test(basename(pkg), { skip: noPython() }, async () => {
      const r = await reportFor(pkg)
      assertSane(r, pkg)
      const known = KNOWN[basename(pkg)]
      if (!known) return
      assert.equal(r.specVersion, known.spec)
      for (const [op, n] of Object.entries(known.ops)) assert.equal(r.opCounts!.main[op], n, op)
    })
  }

  test('silero-vad signature as coremltools infers it', { skip: noPython() }, async () => {
    const r = await reportFor(join(REAL, 'silero-vad-fp16/silero-vad-unified-v6.0.0.mlpackage'))
    const main = r.functions!.main
    assert.deepEqual(
      main.inputs.map((t) => [t.name, t.dtype, t.shape]),
      [
        ['audio_input', 'fp32', [1, 576]],
        ['hidden_state', 'fp32', [1, 128]],
        ['cell_state', 'fp32', [1, 128]],
      ],
    )
    assert.deepEqual(main.outputs[0], { name: 'vad_output', dtype: 'fp32', shape: [1, 1, 1] })
    assert.deepEqual(main.states, [])
  })

  test('flexible dimensions are reported as null (dtln)', { skip: noPython() }, async () => {
    const r = await reportFor(join(REAL, 'dtln-aec-128/DTLN_AEC_128_Part1.mlpackage'))
    const x = r.functions!.main.inputs.find((t) => t.name === 'mic_magnitude')
    assert.deepEqual(x, { name: 'mic_magnitude', dtype: 'fp16', shape: [null, 1, 257] })
  })
})

describe('validate_mlpackage.py on our coremltools fixtures', () => {
  test('fixtures exist', () => assert.ok(fixtureNames.length >= 4, `found ${fixtureNames}`))
  for (const name of fixtureNames) {
    const title = `${name}: inferred signatures and op counts equal the serialized ones`
    test(title, { skip: noPython() }, async () => {
      const want = JSON.parse(readFileSync(join(FIXTURES, `${name}.expected.json`), 'utf8'))
      const r = await reportFor(join(FIXTURES, `${name}.mlpackage`))
      assert.equal(r.ok, true, r.error)
      assert.equal(r.specVersion, want.specVersion)
      assert.equal(r.defaultFunction, want.defaultFunction)
      assert.deepEqual(r.functions, want.functions)
      assert.deepEqual(r.opCounts, want.opCounts)
      assert.deepEqual(Object.keys(r.roundtripOpCounts!).sort(), Object.keys(want.functions).sort())
    })
  }
})

describe('validate_mlpackage.py rejects corrupted copies', () => {
  CORRUPTIONS.forEach(([title, , job, why], i) => {
    if (job === 'none') return
    test(title, { skip: noPython() }, async () => {
      const r = await reportFor(copies[i])
      assert.equal(r.ok, false)
      assert.equal(r.internal, undefined, r.error)
      assert.match(r.error ?? '', why)
    })
  })

  test(
    'the control copy is valid and unmodified (coremltools rewrites Manifest.json)',
    { skip: noPython() },
    async () => {
      const i = CORRUPTIONS.findIndex(([, , job]) => job === 'none')
      const r = await reportFor(copies[i])
      assert.equal(r.ok, true, r.error)
      const manifest = 'Manifest.json'
      assert.deepEqual(
        readFileSync(join(copies[i], manifest)),
        readFileSync(join(FIXTURES, 'stateful.mlpackage', manifest)),
      )
    },
  )
})
