// A package written by coremltools 9 on this machine (iOS18: fp16 state, 4-bit per-grouped-channel
// palettized weights): its manifest, model and weight file all read with our codecs, and our
// writers reproduce them byte for byte.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatManifest, MANIFEST_FILE, readManifest } from '../../src/formats/manifest.js'
import { BlobReader } from '../../src/formats/milblob-reader.js'
import { BlobWriter } from '../../src/formats/milblob-writer.js'
import {
  ArrayFeatureType_ArrayDataType,
  DataType,
  decodeModel,
  encodeModel,
} from '../../src/formats/proto/index.js'
import type { Block, Value } from '../../src/formats/proto/index.js'
import { noPython } from './python.js'
import { formatsOracle } from './formats-oracle.js'

const skip = noPython()
const tmp = mkdtempSync(join(tmpdir(), 'package-oracle-'))
test.after(() => rmSync(tmp, { recursive: true, force: true }))

let pkgPath: string | undefined
/** The coremltools-written package, made once for all tests of this file. */
function pkg(): string {
  pkgPath ??= formatsOracle([{ op: 'make-package', dir: tmp }])[0].path as string
  return pkgPath
}

function blobValues(block: Block): Value[] {
  return block.operations
    .flatMap((op) => [
      ...Object.values(op.attributes),
      ...Object.values(op.inputs).flatMap((a) =>
        a.arguments.flatMap((b) => (b.binding.case === 'value' ? [b.binding.value] : [])),
      ),
    ])
    .filter((v) => v.value.case === 'blobFileValue')
}

test('its Manifest.json reads, and re-formats byte for byte', { skip }, () => {
  const { manifest, rootModelPath, weightsDir } = readManifest(pkg())
  assert.equal(rootModelPath, join(pkg(), 'Data/com.apple.CoreML/model.mlmodel'))
  assert.equal(weightsDir, join(pkg(), 'Data/com.apple.CoreML/weights'))
  assert.equal(formatManifest(manifest), readFileSync(join(pkg(), MANIFEST_FILE), 'utf8'))
})

test('its model.mlmodel decodes (state, spec 9) and re-encodes byte for byte', { skip }, () => {
  const file = join(pkg(), 'Data/com.apple.CoreML/model.mlmodel')
  const bytes = readFileSync(file)
  const model = decodeModel(bytes, file)
  assert.equal(model.specificationVersion, 9)
  const state = model.description?.state[0]
  assert.equal(state?.name, 'kv')
  assert.equal(state?.type?.Type.case, 'stateType')
  if (state?.type?.Type.case === 'stateType' && state.type.Type.value.Type.case === 'arrayType') {
    const arr = state.type.Type.value.Type.value
    assert.equal(arr.dataType, ArrayFeatureType_ArrayDataType.FLOAT16)
    assert.deepEqual(arr.shape, [1n, 8n, 64n])
  } else assert.fail('kv is not an array state')
  assert.equal(model.Type.case, 'mlProgram')
  if (model.Type.case !== 'mlProgram') return
  const main = model.Type.value.functions.main
  assert.equal(main.opset, 'CoreML8')
  assert.equal(main.inputs.find((i) => i.name === 'kv')?.type?.type.case, 'stateType')
  const ops = main.blockSpecializations.CoreML8.operations.map((o) => o.type)
  for (const t of ['constexpr_lut_to_dense', 'write_state', 'read_state'])
    assert.ok(ops.includes(t), `${t} in ${ops}`)
  assert.equal(Buffer.compare(Buffer.from(encodeModel(model)), bytes), 0)
})

test(
  'its weight.bin reads (uint4 indices, fp16 LUT) and our writer reproduces it',
  { skip },
  () => {
    const dir = join(pkg(), 'Data/com.apple.CoreML')
    const file = join(dir, 'weights/weight.bin')
    const model = decodeModel(readFileSync(join(dir, 'model.mlmodel')), 'model.mlmodel')
    assert.equal(model.Type.case, 'mlProgram')
    if (model.Type.case !== 'mlProgram') return
    const refs = blobValues(model.Type.value.functions.main.blockSpecializations.CoreML8)
    const r = BlobReader.open(file)
    const entries = r.entries()
    assert.equal(entries.length, refs.length)
    const dtypes = new Map([
      [DataType.UINT4, 'uint4'],
      [DataType.FLOAT16, 'fp16'],
    ])
    for (const v of refs) {
      if (v.value.case !== 'blobFileValue' || v.type?.type.case !== 'tensorType') continue
      const t = v.type.type.value
      const blob = r.read(v.value.value.offset, dtypes.get(t.dataType) as 'uint4' | 'fp16')
      const n = t.dimensions.reduce(
        (a, d) => a * (d.dimension.case === 'constant' ? Number(d.dimension.value.size) : NaN),
        1,
      )
      assert.equal(blob.elementCount, n)
    }
    assert.ok(entries.some((e) => e.dtype === 'uint4'))
    // Rewrite every blob in order: coremltools' iOS18 writer and ours agree on every byte.
    const copy = join(tmp, 'rewritten.bin')
    const w = BlobWriter.open(copy)
    for (const e of entries)
      assert.equal(w.append(e.dtype, r.read(e.offset).bytes, e.elementCount), e.offset)
    w.close()
    r.close()
    assert.equal(Buffer.compare(readFileSync(copy), readFileSync(file)), 0)
  },
)
