// The coremltools oracle itself: it accepts real packages and our fixtures, reports the
// signatures coremltools infers, and rejects corrupted copies.
import assert from 'node:assert/strict'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, describe, test } from 'node:test'

import type { OracleReport, OracleTensor } from './python.js'
import { noPython, ORACLE_DIR, runPython, validateWithCoremltools } from './python.js'

const SHARED = process.env.ANEMLL_SHARED ?? resolve(ORACLE_DIR, '../../../shared')
const REAL = join(SHARED, 'models/coreml')
const FIXTURES = resolve(ORACLE_DIR, '../fixtures/coremltools')
const DTYPES = new Set(['fp16', 'fp32', 'int32', 'int8', 'bool'])

// Each oracle run costs a second or two of coremltools start-up: validate each package once.
const reports = new Map<string, Promise<OracleReport>>()
function validated(pkg: string): Promise<OracleReport> {
  if (!reports.has(pkg)) reports.set(pkg, validateWithCoremltools(pkg))
  return reports.get(pkg)!
}

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

// What the shared models' README says about each package (spec version, compression ops).
const KNOWN: Record<string, { spec: number; ops?: Record<string, number> }> = {
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
    for (const t of [...fn.inputs, ...fn.outputs, ...fn.states])
      assertSaneTensor(t, `${name}.${t.name}`)
    const ops = r.opCounts![name]
    assert.ok(Object.values(ops).reduce((a, b) => a + b, 0) > 0)
  }
}

describe(
  'validate_mlpackage.py on the real packages in shared/models/coreml',
  { concurrency: 2 },
  () => {
    const pkgs = realPackages()
    test('the shared models are there', () => {
      assert.ok(pkgs.length >= 5, `expected >= 5 packages under ${REAL}, found ${pkgs.length}`)
    })
    for (const pkg of pkgs) {
      const base = pkg.split('/').pop()!
      test(base, { skip: noPython() }, async () => {
        const r = await validated(pkg)
        assertSane(r, pkg)
        const known = KNOWN[base]
        if (!known) return
        assert.equal(r.specVersion, known.spec)
        for (const [op, n] of Object.entries(known.ops ?? {}))
          assert.equal(r.opCounts!.main[op], n, op)
      })
    }

    test('silero-vad signature as coremltools infers it', { skip: noPython() }, async () => {
      const r = await validated(join(REAL, 'silero-vad-fp16/silero-vad-unified-v6.0.0.mlpackage'))
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
      const r = await validated(join(REAL, 'dtln-aec-128/DTLN_AEC_128_Part1.mlpackage'))
      const x = r.functions!.main.inputs.find((t) => t.name === 'mic_magnitude')
      assert.deepEqual(x, { name: 'mic_magnitude', dtype: 'fp16', shape: [null, 1, 257] })
    })
  },
)

describe('validate_mlpackage.py on our coremltools fixtures', { concurrency: 2 }, () => {
  const names = existsSync(FIXTURES)
    ? readdirSync(FIXTURES).filter((n) => n.endsWith('.expected.json'))
    : []
  test('fixtures exist', () => assert.ok(names.length >= 4, `found ${names.length} in ${FIXTURES}`))
  for (const file of names) {
    const name = file.replace('.expected.json', '')
    test(
      `${name}: inferred signatures and op counts equal the serialized ones`,
      { skip: noPython() },
      async () => {
        const want = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'))
        const r = await validateWithCoremltools(join(FIXTURES, `${name}.mlpackage`), {
          roundtrip: true,
        })
        assert.equal(r.ok, true, r.error)
        assert.equal(r.specVersion, want.specVersion)
        assert.equal(r.defaultFunction, want.defaultFunction)
        assert.deepEqual(r.functions, want.functions)
        assert.deepEqual(r.opCounts, want.opCounts)
        assert.deepEqual(
          Object.keys(r.roundtripOpCounts!).sort(),
          Object.keys(want.functions).sort(),
        )
      },
    )
  }
})

describe('validate_mlpackage.py rejects corrupted copies', { concurrency: 2 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'anemll-oracle-'))
  after(() => rmSync(tmp, { recursive: true, force: true }))
  let n = 0
  function corrupted(fixture: string, ...how: string[]): string {
    const pkg = join(tmp, `${n++}-${fixture}.mlpackage`)
    cpSync(join(FIXTURES, `${fixture}.mlpackage`), pkg, { recursive: true })
    if (how.length === 0) return pkg
    const r = runPython('corrupt_mlpackage.py', [pkg, ...how])
    assert.equal(r.status, 0, r.stderr)
    return pkg
  }
  const cases: [string, string, string[], RegExp][] = [
    [
      'op output declares a wrong shape',
      'stateful',
      ['op-shape', 'proj'],
      /op conv -> proj: .*Mismatch/,
    ],
    [
      'stateful op declares a wrong shape',
      'stateful',
      ['op-shape', 'cache_upd'],
      /slice_update -> cache_upd/,
    ],
    [
      'const declares more elements than its blob',
      'plain',
      ['const-shape', 'fc1_weight_0'],
      /blob size/,
    ],
    [
      'const declares another dtype than its blob',
      'multifunction',
      ['blob-dtype', 'proj_weight_0'],
      /blob dtype/,
    ],
    ['weight.bin is truncated', 'lut', ['truncate-weights'], /blob size\/padding\/offset/],
  ]
  for (const [title, fixture, how, why] of cases) {
    test(title, { skip: noPython() }, async () => {
      const r = await validateWithCoremltools(corrupted(fixture, ...how))
      assert.equal(r.ok, false)
      assert.match(r.error ?? '', why)
    })
  }

  test('a directory without Manifest.json', { skip: noPython() }, async () => {
    const pkg = corrupted('plain')
    rmSync(join(pkg, 'Manifest.json'))
    const r = await validateWithCoremltools(pkg)
    assert.equal(r.ok, false)
    assert.match(r.error ?? '', /Manifest\.json/)
  })

  test(
    'the original is never modified (coremltools rewrites Manifest.json)',
    { skip: noPython() },
    async () => {
      const pkg = corrupted('stateful')
      const manifest = join(pkg, 'Manifest.json')
      const before = readFileSync(manifest)
      assert.equal((await validateWithCoremltools(pkg)).ok, true)
      assert.deepEqual(readFileSync(manifest), before)
    },
  )
})
