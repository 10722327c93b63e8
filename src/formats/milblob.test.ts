import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ALIGNMENT,
  BLOB_DTYPES,
  BLOB_SENTINEL,
  blobByteLength,
  blobDTypeRow,
  encodeHeader,
  encodeMetadata,
} from './milblob.js'
import type { BlobDType } from './milblob.js'
import { BlobWriter } from './milblob-writer.js'
import { blobElements, BlobReader } from './milblob-reader.js'
import { packBits } from './bitpack.js'
import { DataType, decodeModel } from './proto/index.js'
import type { Block, Value } from './proto/index.js'
import { UsageError } from '../util/errors.js'

const SHARED = process.env.ANEMLL_SHARED ?? join(import.meta.dirname, '../../../shared')
const MODELS = join(SHARED, 'models/coreml')
const tmp = mkdtempSync(join(tmpdir(), 'milblob-'))
test.after(() => rmSync(tmp, { recursive: true, force: true }))

function findFiles(dir: string, name: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e)
    return statSync(p).isDirectory() ? findFiles(p, name) : e === name ? [p] : []
  })
}

// coreml-format.md §4.6, produced by Apple's C++ writer: fp16 [1,2,3,4] then uint4 [1,2,3,4,5].
const WORKED_EXAMPLE = (() => {
  const b = new Uint8Array(259)
  b.set([2, 0, 0, 0, 2, 0, 0, 0], 0x00)
  b.set([0xef, 0xbe, 0xad, 0xde, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0x80], 0x40)
  b.set([0x00, 0x3c, 0x00, 0x40, 0x00, 0x42, 0x00, 0x44], 0x80)
  b.set([0xef, 0xbe, 0xad, 0xde, 0x0b, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1], 0xc0)
  b.set([4], 0xd8)
  b.set([0x21, 0x43, 0x05], 0x100)
  return b
})()

function writeExample(path: string): number[] {
  const w = BlobWriter.open(path)
  const a = w.append('fp16', new Uint16Array([0x3c00, 0x4000, 0x4200, 0x4400]), 4)
  const b = w.append('uint4', packBits([1, 2, 3, 4, 5], 4), 5)
  w.close()
  return [a, b]
}

test('header and metadata records are 64 bytes; the dtype table is the format doc one', () => {
  assert.equal(encodeHeader(3).length, ALIGNMENT)
  assert.equal(encodeMetadata('fp16', 8, 128, 0).length, ALIGNMENT)
  assert.equal(Buffer.from(encodeMetadata('fp16', 8, 128, 0)).readUInt32LE(0), BLOB_SENTINEL)
  assert.equal(BLOB_DTYPES.length, 17)
  assert.deepEqual(
    BLOB_DTYPES.map((r) => r.code),
    Array.from({ length: 17 }, (_, i) => i + 1),
  )
  assert.equal(blobDTypeRow('uint6').bits, 6)
  assert.equal(blobByteLength('uint3', 5), 2)
  assert.throws(() => blobDTypeRow('fp64'), UsageError)
})

test('the writer reproduces the worked example of the format doc byte for byte', () => {
  const path = join(tmp, 'example.bin')
  assert.deepEqual(writeExample(path), [64, 192])
  assert.equal(
    Buffer.from(readFileSync(path)).toString('hex'),
    Buffer.from(WORKED_EXAMPLE).toString('hex'),
  )
  assert.equal(existsSync(`${path}.partial`), false)
})

test('the reader decodes the worked example', () => {
  const path = join(tmp, 'doc.bin')
  writeFileSync(path, WORKED_EXAMPLE)
  const r = BlobReader.open(path)
  assert.equal(r.count, 2)
  const infos = r.entries()
  assert.deepEqual(
    infos.map((i) => [i.offset, i.dtype, i.dataOffset, i.sizeInBytes, i.elementCount]),
    [
      [64, 'fp16', 128, 8, 4],
      [192, 'uint4', 256, 3, 5],
    ],
  )
  assert.deepEqual([...blobElements(r.read(64, 'fp16'))], [0x3c00, 0x4000, 0x4200, 0x4400])
  assert.deepEqual([...blobElements(r.read(192n))], [1, 2, 3, 4, 5])
  assert.throws(() => r.read(64, 'fp32'), /offset 64: blob is fp16, expected fp32/)
  assert.deepEqual([...r.readSlice(64, 2, 4)], [0x00, 0x40, 0x00, 0x42])
  assert.deepEqual([...r.readSlice(r.info(192), 2, 1)], [0x05])
  assert.throws(
    () => r.readSlice(192, 2, 2),
    /bytes \[2, 4\) are outside the 3-byte blob at offset 192/,
  )
  assert.throws(() => r.readSlice(192, -1, 1), UsageError)
  r.close()
})

test('every dtype round-trips through writer and reader', () => {
  const path = join(tmp, 'all.bin')
  const w = BlobWriter.open(path)
  const written: [BlobDType, number, number[]][] = []
  for (const { name, bits } of BLOB_DTYPES) {
    const n = 11
    const vals = Array.from({ length: n }, (_, i) => (i * 37) % 2 ** Math.min(bits, 8))
    const data =
      bits < 8
        ? packBits(
            name === 'int4' ? vals.map((v) => (v & 15) - (v & 8 ? 16 : 0)) : vals,
            bits,
            name === 'int4',
          )
        : bits === 8
          ? new Uint8Array(vals)
          : bits === 16
            ? new Uint16Array(vals)
            : new Uint32Array(vals)
    written.push([name, w.append(name, data, n), vals])
  }
  w.close()
  const r = BlobReader.open(path)
  assert.equal(r.entries().length, BLOB_DTYPES.length)
  for (const [dtype, offset, vals] of written) {
    const got = [...blobElements(r.read(offset, dtype))]
    const want =
      dtype === 'int4'
        ? vals.map((v) => (v & 15) - (v & 8 ? 16 : 0))
        : dtype === 'int8'
          ? vals.map((v) => (v << 24) >> 24)
          : dtype === 'fp32'
            ? [...new Float32Array(new Uint32Array(vals).buffer)]
            : vals
    assert.deepEqual(got, want, dtype)
  }
  r.close()
})

test('the writer rejects a size mismatch and stays usable; appendChunks streams pieces', () => {
  const path = join(tmp, 'chunks.bin')
  const w = BlobWriter.open(path)
  assert.throws(() => w.append('fp16', new Uint8Array(7), 4), /needs 8 bytes/)
  assert.throws(
    () => w.appendChunks('uint4', 5, [new Uint8Array(2), new Uint8Array(2)]),
    UsageError,
  )
  assert.throws(() => w.append('fp64' as BlobDType, new Uint8Array(8), 1), /unknown blob dtype/)
  const parts = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])]
  assert.equal(w.appendChunks('uint8', 5, parts), 64)
  assert.equal(w.append('int8', new Int8Array([-1]), 1), 192)
  w.close()
  assert.throws(() => w.append('uint8', new Uint8Array(1), 1), /closed/)
  const r = BlobReader.open(path)
  assert.deepEqual(
    r.entries().map((e) => e.offset),
    [64, 192],
  )
  assert.deepEqual([...r.read(64).bytes], [1, 2, 3, 4, 5])
  assert.equal(r.size, 192 + 64 + 1) // nothing after the last blob, not even the failed attempts
  r.close()
})

test('abort leaves nothing behind', () => {
  const path = join(tmp, 'aborted.bin')
  const w = BlobWriter.open(path)
  w.append('uint8', new Uint8Array(100), 100)
  w.abort()
  assert.equal(existsSync(path), false)
  assert.equal(existsSync(`${path}.partial`), false)
})

test('writing a 256 MiB blob in chunks does not buffer it', () => {
  const path = join(tmp, 'big.bin')
  const chunk = new Uint8Array(4 << 20).fill(7)
  const n = 64
  const before = process.memoryUsage().rss
  const w = BlobWriter.open(path)
  w.appendChunks(
    'uint8',
    chunk.length * n,
    (function* () {
      for (let i = 0; i < n; i++) yield chunk
    })(),
  )
  w.close()
  const grew = process.memoryUsage().rss - before
  assert.equal(statSync(path).size, 128 + chunk.length * n)
  assert.ok(grew < 64 << 20, `RSS grew by ${grew} bytes`)
  const r = BlobReader.open(path)
  assert.equal(r.info(64).elementCount, chunk.length * n)
  r.close()
  rmSync(path)
})

// ---- real files ----

const BLOB_DTYPE_OF: Partial<Record<DataType, BlobDType>> = {
  [DataType.FLOAT16]: 'fp16',
  [DataType.FLOAT32]: 'fp32',
  [DataType.UINT8]: 'uint8',
  [DataType.INT8]: 'int8',
  [DataType.INT16]: 'int16',
  [DataType.UINT16]: 'uint16',
  [DataType.INT32]: 'int32',
  [DataType.UINT32]: 'uint32',
  [DataType.INT4]: 'int4',
  [DataType.UINT1]: 'uint1',
  [DataType.UINT2]: 'uint2',
  [DataType.UINT3]: 'uint3',
  [DataType.UINT4]: 'uint4',
  [DataType.UINT6]: 'uint6',
}

/** Every BlobFileValue of a block (const vals and constexpr attributes, nested blocks too). */
function blobValues(block: Block): Value[] {
  return block.operations.flatMap((op) => [
    ...Object.values(op.attributes).filter((v) => v.value.case === 'blobFileValue'),
    ...op.blocks.flatMap(blobValues),
  ])
}

const weightFiles = findFiles(MODELS, 'weight.bin')

test('the shared real weight files exist', () =>
  assert.ok(weightFiles.length >= 8, `${weightFiles.length}`))

for (const file of weightFiles) {
  const label = file.slice(MODELS.length + 1)
  test(`reads every blob of ${label}`, () => {
    const r = BlobReader.open(file)
    const infos = r.entries()
    assert.equal(infos.length, r.count)
    const last = infos[infos.length - 1]
    assert.equal(last.dataOffset + last.sizeInBytes, r.size, 'the file ends after the last blob')
    for (const info of infos) assert.equal(r.read(info.offset).bytes.length, info.sizeInBytes)
    // The package's model.mlmodel: each reference matches a record's dtype and element count.
    const model = file.replace(/weights\/weight\.bin$/, 'model.mlmodel')
    if (!existsSync(model)) return r.close()
    const m = decodeModel(readFileSync(model), model)
    assert.equal(m.Type.case, 'mlProgram')
    if (m.Type.case !== 'mlProgram') return
    const main = m.Type.value.functions.main
    const refs = blobValues(main.blockSpecializations[main.opset])
    assert.ok(refs.length > 0)
    for (const v of refs) {
      if (v.value.case !== 'blobFileValue' || v.type?.type.case !== 'tensorType')
        throw new Error('not a tensor blob')
      const t = v.type.type.value
      const dtype = BLOB_DTYPE_OF[t.dataType]
      assert.ok(dtype, `dtype ${DataType[t.dataType]}`)
      const blob = r.read(v.value.value.offset, dtype)
      const dims = t.dimensions.map((d) =>
        d.dimension.case === 'constant' ? d.dimension.value.size : -1n,
      )
      const n = dims.reduce((a, d) => a * Number(d), 1)
      assert.equal(blob.elementCount, n, `blob at ${blob.offset}`)
    }
    r.close()
  })
}
