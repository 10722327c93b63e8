import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  create,
  DataType,
  decodeModel,
  encodeModel,
  fromBinary,
  ModelSchema,
  toBinary,
  uint64ToNumber,
  ValueSchema,
} from './index.js'
import { FormatError } from '../../util/errors.js'

const SHARED = process.env.ANEMLL_SHARED ?? join(import.meta.dirname, '../../../../shared')
const MODELS = join(SHARED, 'models/coreml')

function findFiles(dir: string, name: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e)
    return statSync(p).isDirectory() ? findFiles(p, name) : e === name ? [p] : []
  })
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const stringScalar = (s: string) =>
  create(ValueSchema, {
    type: { type: { case: 'tensorType', value: { dataType: DataType.STRING } } },
    value: {
      case: 'immediateValue',
      value: {
        value: { case: 'tensor', value: { value: { case: 'strings', value: { values: [s] } } } },
      },
    },
  })

// coreml-format.md §2.14, verified against Apple's encoder.
test('a string-scalar name attribute encodes byte for byte as in the format doc', () => {
  const want = '12040a020802' + '1a0c0a0a2208' + '0a06' + hex(Buffer.from('conv_0'))
  assert.equal(hex(toBinary(ValueSchema, stringScalar('conv_0'))), want)
})

test('a BlobFileValue reference encodes byte for byte as in the format doc', () => {
  const dims = [64n, 32n].map((size) => ({
    dimension: { case: 'constant' as const, value: { size } },
  }))
  const v = create(ValueSchema, {
    type: {
      type: {
        case: 'tensorType',
        value: { dataType: DataType.FLOAT16, rank: 2n, dimensions: dims },
      },
    },
    value: {
      case: 'blobFileValue',
      value: { fileName: '@model_path/weights/weight.bin', offset: 64n },
    },
  })
  const want =
    '12120a10080a10021a040a0208401a040a020820' +
    '2a220a1e' +
    hex(Buffer.from('@model_path/weights/weight.bin')) +
    '1040'
  assert.equal(hex(toBinary(ValueSchema, v)), want)
  assert.equal(fromBinary(ValueSchema, Buffer.from(want, 'hex')).value.case, 'blobFileValue')
})

const realModels = findFiles(MODELS, 'model.mlmodel')

test('the shared real models exist', () => {
  assert.ok(
    realModels.length >= 5,
    `found ${realModels.length} model.mlmodel files under ${MODELS}`,
  )
})

for (const file of realModels) {
  const label = file.slice(MODELS.length + 1).split('/')[1]
  test(`decodes and re-encodes ${label} byte for byte`, () => {
    const bytes = readFileSync(file)
    const model = decodeModel(bytes, file)
    assert.ok(model.specificationVersion === 6 || model.specificationVersion === 7)
    assert.equal(model.Type.case, 'mlProgram')
    if (model.Type.case !== 'mlProgram') return
    const main = model.Type.value.functions.main
    assert.ok(main, 'has a main function')
    assert.equal(main.opset, `CoreML${model.specificationVersion - 1}`)
    assert.ok(main.blockSpecializations[main.opset].operations.length > 0)
    assert.ok((model.description?.input.length ?? 0) > 0)
    assert.equal(hex(encodeModel(model)), hex(bytes))
  })
}

test('silero-vad-fp16 declares what its README says: fp16 blobs at 64-aligned offsets', () => {
  const file = realModels.find((f) => f.includes('silero-vad-fp16'))!
  const model = decodeModel(readFileSync(file), file)
  assert.equal(model.Type.case, 'mlProgram')
  if (model.Type.case !== 'mlProgram') return
  const ops = model.Type.value.functions.main.blockSpecializations.CoreML5.operations
  const blobs = ops.flatMap((op) => {
    const val = op.attributes.val
    return op.type === 'const' && val?.value.case === 'blobFileValue' ? [val] : []
  })
  assert.equal(blobs.length, 13) // README: 10 fp16 + 3 fp32 blobs
  for (const b of blobs) {
    if (b.value.case !== 'blobFileValue') continue
    assert.equal(b.value.value.fileName, '@model_path/weights/weight.bin')
    assert.equal(b.value.value.offset % 64n, 0n)
  }
  const dtypes = blobs.map((b) =>
    b.type?.type.case === 'tensorType' ? b.type.type.value.dataType : -1,
  )
  assert.equal(dtypes.filter((d) => d === DataType.FLOAT16).length, 10)
  assert.equal(dtypes.filter((d) => d === DataType.FLOAT32).length, 3)
})

test('another model type survives as raw bytes and re-encodes unchanged', () => {
  // Model{specificationVersion=4, neuralNetwork(500)=<3 opaque bytes>}
  const bytes = Buffer.from('0804a21f03010203', 'hex')
  const model = decodeModel(bytes, 'nn.mlmodel')
  assert.equal(model.Type.case, 'neuralNetwork')
  assert.equal(hex(model.Type.value as Uint8Array), '010203')
  assert.equal(hex(encodeModel(model)), hex(bytes))
})

test('mlProgram uses the key bytes B2 1F (field 502, LEN)', () => {
  const m = create(ModelSchema, {
    specificationVersion: 9,
    Type: { case: 'mlProgram', value: { version: 1n } },
  })
  assert.equal(hex(encodeModel(m)), '0809b21f020801')
})

test('truncated and garbage input is a FormatError naming the file', () => {
  const file = realModels[0]
  const bytes = readFileSync(file)
  for (const cut of [bytes.length - 1, Math.floor(bytes.length / 2), 7]) {
    assert.throws(
      () => decodeModel(bytes.subarray(0, cut), file),
      (e: Error) => e instanceof FormatError && e.file === file,
      `cut at ${cut}`,
    )
  }
  const garbage = [
    Buffer.from('{"not": "a protobuf"}'),
    Buffer.from('ffffffffffffffffffffff', 'hex'), // unterminated varint
    Buffer.from('0a ff ff ff ff 0f'.replace(/ /g, ''), 'hex'), // length past the end
    Buffer.alloc(0), // no specificationVersion
    Buffer.from('1200', 'hex'), // an empty description only
  ]
  for (const g of garbage) {
    assert.throws(() => decodeModel(g, 'x.mlmodel'), FormatError, hex(g))
  }
})

test('deeply nested blocks within the nesting budget decode; a hostile depth is a FormatError', () => {
  // Block{operations: [Operation{blocks: [Block{…}]}]} nested n times.
  const nest = (n: number): Buffer => {
    let b = Buffer.alloc(0)
    for (let i = 0; i < n; i++) {
      const op = Buffer.concat([Buffer.from([0x22]), varint(b.length), b]) // Operation.blocks
      b = Buffer.concat([Buffer.from([0x1a]), varint(op.length), op]) // Block.operations
    }
    return b
  }
  const model = (n: number): Buffer => {
    const block = nest(n)
    const entry = Buffer.concat([
      Buffer.from('0a0161', 'hex'),
      Buffer.from([0x12]),
      varint(block.length),
      block,
    ])
    const fn = Buffer.concat([Buffer.from([0x1a]), varint(entry.length), entry]) // Function.block_specializations
    const fentry = Buffer.concat([
      Buffer.from('0a016d', 'hex'),
      Buffer.from([0x12]),
      varint(fn.length),
      fn,
    ])
    const prog = Buffer.concat([
      Buffer.from('0801', 'hex'),
      Buffer.from([0x12]),
      varint(fentry.length),
      fentry,
    ])
    return Buffer.concat([Buffer.from('0809b21f', 'hex'), varint(prog.length), prog])
  }
  assert.equal(decodeModel(model(100), 'deep.mlmodel').Type.case, 'mlProgram')
  assert.throws(() => decodeModel(model(5000), 'deep.mlmodel'), FormatError)
})

function varint(n: number): Buffer {
  const out: number[] = []
  while (n > 127) {
    out.push((n & 127) | 128)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Buffer.from(out)
}

test('uint64ToNumber passes safe values and rejects the rest', () => {
  assert.equal(uint64ToNumber(4224n, 'f', 'offset'), 4224)
  assert.throws(() => uint64ToNumber(2n ** 60n, 'f', 'offset'), /f: offset is out of range/)
  assert.throws(() => uint64ToNumber(-1n, 'f', 'size'), FormatError)
})
