// Corrupt packages give one typed error naming the file and the problem — no crash, no hang.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dense } from '../../src/mil/fold.js'
import { walkOps } from '../../src/mil/program.js'
import { readPackage } from '../../src/package/read.js'
import { FormatError } from '../../src/util/errors.js'

const FIXTURES = join(import.meta.dirname, '../fixtures/coremltools')
const tmp = mkdtempSync(join(tmpdir(), 'anemll-bad-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

let n = 0
function copy(name: string): string {
  const dst = join(tmp, `${n++}-${name}.mlpackage`)
  cpSync(join(FIXTURES, `${name}.mlpackage`), dst, { recursive: true })
  return dst
}
const modelFile = (pkg: string) => join(pkg, 'Data/com.apple.CoreML/model.mlmodel')
const weightFile = (pkg: string) => join(pkg, 'Data/com.apple.CoreML/weights/weight.bin')

/** Loads every weight, so lazy blob errors surface. */
function loadAll(pkg: string) {
  const m = readPackage(pkg)
  for (const fn of m.program.functions)
    for (const op of walkOps(fn.block))
      if (op.type === 'const' && op.value!.type.dtype !== 'string') dense(op.outputs[0])
}

function rejects(fn: () => unknown, file: RegExp, problem: RegExp) {
  assert.throws(fn, (e: Error) => {
    assert.ok(
      e instanceof FormatError,
      `expected FormatError, got ${e.constructor.name}: ${e.message}`,
    )
    assert.match(e.message, file)
    assert.match(e.message, problem)
    assert.equal(e.message.includes('\n'), false, 'one line')
    return true
  })
}

test('truncated weight.bin', () => {
  const p = copy('lut')
  truncateSync(weightFile(p), 700)
  rejects(() => loadAll(p), /weight\.bin/, /offset|past|beyond|end|short|fits/i)
})

test('weight.bin with a bad sentinel', () => {
  const p = copy('stateful')
  const b = readFileSync(weightFile(p))
  b.writeUInt32LE(0x12345678, 64)
  writeFileSync(weightFile(p), b)
  rejects(() => loadAll(p), /weight\.bin/, /sentinel/)
})

test('blob offset out of range', () => {
  // A weight file holding only its header: every blob offset the model names lies past its end.
  const p = copy('plain')
  const w = Buffer.alloc(64)
  w.writeUInt32LE(0, 0)
  w.writeUInt32LE(2, 4)
  writeFileSync(weightFile(p), w)
  rejects(() => loadAll(p), /weight\.bin/, /offset|record/i)
})

test('garbage model.mlmodel', () => {
  const p = copy('plain')
  writeFileSync(modelFile(p), Buffer.from('this is not a protobuf at all, just text'))
  rejects(() => readPackage(p), /model\.mlmodel/, /protobuf|CoreML model/i)
})

test('truncated model.mlmodel', () => {
  const p = copy('multifunction')
  const b = readFileSync(modelFile(p))
  writeFileSync(modelFile(p), b.subarray(0, Math.floor(b.length / 2)))
  rejects(() => readPackage(p), /model\.mlmodel/, /.+/)
})

test('Manifest.json without the root model entry', () => {
  const p = copy('plain')
  const m = JSON.parse(readFileSync(join(p, 'Manifest.json'), 'utf8'))
  delete m.itemInfoEntries[m.rootModelIdentifier]
  writeFileSync(join(p, 'Manifest.json'), JSON.stringify(m))
  rejects(() => readPackage(p), /Manifest\.json/, /rootModelIdentifier|root/i)
})

test('not a package at all', () => {
  rejects(() => readPackage(join(tmp, 'nope.mlpackage')), /nope\.mlpackage/, /not an \.mlpackage/)
})

test('unknown op in strict mode; a lying declared type always', async () => {
  const { decodeModel, encodeModel } = await import('../../src/formats/proto/index.js')
  const p = copy('plain')
  const proto = decodeModel(readFileSync(modelFile(p)), 'x')
  if (proto.Type.case !== 'mlProgram') throw new Error()
  const ops = proto.Type.value.functions.main.blockSpecializations.CoreML8.operations
  const gelu = ops.find((o) => o.type === 'gelu')!
  gelu.type = 'frobnicate'
  writeFileSync(modelFile(p), encodeModel(proto))
  rejects(() => readPackage(p, { strict: true }), /model\.mlmodel/, /unknown op 'frobnicate'/)
  assert.ok(
    readPackage(p).program.functions[0].block.operations.some(
      (o) => o.opaque && o.type === 'frobnicate',
    ),
  )

  const q = copy('plain')
  const proto2 = decodeModel(readFileSync(modelFile(q)), 'x')
  if (proto2.Type.case !== 'mlProgram') throw new Error()
  const lin = proto2.Type.value.functions.main.blockSpecializations.CoreML8.operations.find(
    (o) => o.type === 'linear',
  )!
  const tt = lin.outputs[0].type!.type
  if (tt.case !== 'tensorType') throw new Error()
  tt.value.dimensions[tt.value.dimensions.length - 1].dimension = {
    case: 'constant',
    value: { $typeName: 'CoreML.Specification.MILSpec.Dimension.ConstantDimension', size: 999n },
  }
  writeFileSync(modelFile(q), encodeModel(proto2))
  rejects(
    () => readPackage(q),
    /model\.mlmodel/,
    /linear .* declared tensor<fp\d+, \[.*999\]> but infers as/,
  )
})
