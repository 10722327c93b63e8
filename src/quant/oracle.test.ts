// Checks the palettizer against coremltools: quality against its own palettize_weights on the
// same weights (goldens from testdata/palettize_oracle.py), and coremltools' unpacking and
// constexpr_lut_to_dense decoding of our indices and LUT.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { noPython, runPythonCode } from '../../test/oracle/python.js'
import { PackedBits } from '../mil/value.js'
import { floatsToHalfs } from '../util/fp16.js'
import { palettize } from './palettize.js'
import { dequantize } from './reference.js'
import type { LutBits } from './spec.js'
import { syntheticWeight } from './synthetic.js'

const DATA = fileURLToPath(new URL('./testdata/', import.meta.url))

interface OracleCase {
  weights: string
  shape: number[]
  bits: LutBits
  groupSize: number
  kmeans: string
  indicesDtype: string
  lutShape: number[]
  lutDtype: string
  sqnrDb: number
}

const golden = JSON.parse(readFileSync(join(DATA, 'palettize_oracle.json'), 'utf8')) as {
  cases: OracleCase[]
}

function readHalfs(path: string): Uint16Array {
  const b = readFileSync(path)
  return new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
}

test('SQNR ≥ coremltools palettize_weights − 0.1 dB, with its dtypes and LUT shapes', (t) => {
  for (const c of golden.cases) {
    const what = `${c.weights} lut${c.bits},${c.groupSize} (coremltools: ${c.kmeans})`
    const w = readHalfs(join(DATA, c.weights))
    const p = palettize(w, c.shape, { bits: c.bits, groupSize: c.groupSize })
    assert.equal(p.indices.type.dtype, c.indicesDtype, what)
    assert.deepEqual(p.indices.type.shape, c.shape, what)
    assert.equal(p.lut.type.dtype, c.lutDtype, what)
    assert.deepEqual(p.lut.type.shape, c.lutShape, what)
    assert.ok(p.sqnrDb >= c.sqnrDb - 0.1, `${what}: ${p.sqnrDb.toFixed(4)} < ${c.sqnrDb}`)
    t.diagnostic(`${what}: ours ${p.sqnrDb.toFixed(4)} dB, coremltools ${c.sqnrDb} dB`)
  }
})

// For each case dir: unpacks our bytes with coremltools' own unpacker, decodes them with its
// constexpr_lut_to_dense, and writes the dense fp16 weight back.
const DECODE = `
import json, sys, numpy as np
from coremltools.optimize._utils import restore_elements_from_packed_bits
from coremltools.converters.mil.mil.ops.defs.iOS18.compression import constexpr_lut_to_dense
for d in sys.argv[1:]:
    c = json.load(open(d + '/case.json'))
    packed = np.fromfile(d + '/indices.bin', dtype=np.uint8)
    n = int(np.prod(c['shape']))
    bits = c['bits']
    idx = packed if bits == 8 else restore_elements_from_packed_bits(packed, bits, n)
    lut = np.fromfile(d + '/lut.bin', dtype='<f2').reshape(c['lutShape'])
    dense = constexpr_lut_to_dense.decompress(idx.reshape(c['shape']).astype(np.uint8), lut, None)
    assert dense.dtype == np.float16 and list(dense.shape) == c['shape'], (dense.dtype, dense.shape)
    dense.astype('<f2').tofile(d + '/dense.bin')
`

const tmp = mkdtempSync(join(tmpdir(), 'anemll-quant-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

test(
  'coremltools unpacks and decodes our indices and LUT to our reconstruction',
  { skip: noPython() },
  () => {
    const cases: [number[], LutBits, number][] = [
      [[64, 128, 1, 1], 4, 8],
      [[24, 40], 3, 4],
      [[16, 33, 1, 1], 6, 0],
      [[8, 300], 2, 2],
      [[16, 64], 8, 8],
    ]
    const runs = cases.map(([shape, bits, groupSize], i) => {
      const w = syntheticWeight('studentT', shape[0], shape[1], 50 + i, true)
      const p = palettize(w, shape, { bits, groupSize })
      const dir = join(tmp, String(i))
      mkdirSync(dir)
      const idx = p.indices.data
      const lut = p.lut.data as Uint16Array
      writeFileSync(
        join(dir, 'indices.bin'),
        idx instanceof PackedBits ? idx.bytes : (idx as Uint8Array),
      )
      writeFileSync(
        join(dir, 'lut.bin'),
        new Uint8Array(lut.buffer, lut.byteOffset, lut.byteLength),
      )
      writeFileSync(
        join(dir, 'case.json'),
        JSON.stringify({ shape, bits, lutShape: p.lut.type.shape }),
      )
      return { dir, p, what: `[${shape}] lut${bits},${groupSize}` }
    })
    const r = runPythonCode(
      DECODE,
      runs.map((x) => x.dir),
    )
    assert.equal(r.status, 0, r.stderr)
    for (const { dir, p, what } of runs) {
      assert.deepEqual(readHalfs(join(dir, 'dense.bin')), floatsToHalfs(dequantize(p)), what)
    }
  },
)
