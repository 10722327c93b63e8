// weight.bin against coremltools' own MILBlob storage (libmilstoragepython): the same blobs
// written by both give identical files, and each side reads the other's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packBits } from '../../src/formats/bitpack.js'
import { blobDTypeRow } from '../../src/formats/milblob.js'
import type { BlobDType } from '../../src/formats/milblob.js'
import { BlobWriter } from '../../src/formats/milblob-writer.js'
import { blobElements, BlobReader } from '../../src/formats/milblob-reader.js'
import { noPython } from './python.js'
import { formatsOracle as oracle, formatsOracleRaw } from './formats-oracle.js'

const skip = noPython()
const tmp = mkdtempSync(join(tmpdir(), 'milblob-oracle-'))
test.after(() => rmSync(tmp, { recursive: true, force: true }))

// Every dtype coremltools' Python writer and reader support (no bf16/fp8 there).
const DTYPES: BlobDType[] = ['fp16', 'fp32', 'uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32']
const SUB_BYTE: BlobDType[] = ['int4', 'uint1', 'uint2', 'uint3', 'uint4', 'uint6']
const SIZES = [1, 5, 10, 64, 1001]

let seed = 20240601
const rand = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32

/** Random elements of a dtype, as the integers the oracle exchanges (fp16/fp32 as bit patterns). */
function randomValues(dtype: BlobDType, n: number): number[] {
  const bits = blobDTypeRow(dtype).bits
  const signed = dtype.startsWith('int')
  if (dtype === 'fp32') {
    const f = Float32Array.from(
      { length: n },
      () => (rand() - 0.5) * 2 ** Math.floor(rand() * 40 - 20),
    )
    return [...new Uint32Array(f.buffer)]
  }
  if (dtype === 'fp16')
    return Array.from(
      { length: n },
      () => Math.floor(rand() * 0x7c00) | (rand() < 0.5 ? 0x8000 : 0),
    )
  const span = 2 ** bits
  return Array.from({ length: n }, () => Math.floor(rand() * span) - (signed ? span / 2 : 0))
}

const TYPED: Record<string, (v: number[]) => ArrayBufferView> = {
  fp16: (v) => Uint16Array.from(v),
  fp32: (v) => Uint32Array.from(v),
  uint8: (v) => Uint8Array.from(v),
  int8: (v) => Int8Array.from(v),
  int16: (v) => Int16Array.from(v),
  uint16: (v) => Uint16Array.from(v),
  int32: (v) => Int32Array.from(v),
  uint32: (v) => Uint32Array.from(v),
}

/** The stored bytes of `values` for `dtype`. */
function encode(dtype: BlobDType, values: number[]): ArrayBufferView {
  const { bits } = blobDTypeRow(dtype)
  return bits < 8 ? packBits(values, bits, dtype === 'int4') : TYPED[dtype](values)
}

/** Our decoded elements as oracle integers (fp32 back to bit patterns). */
function asInts(
  dtype: BlobDType,
  el: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number },
): number[] {
  return dtype === 'fp32'
    ? [...new Uint32Array(el.buffer, el.byteOffset, el.length)]
    : [...Array.from(el)]
}

const blobs = [...DTYPES, ...SUB_BYTE].flatMap((dtype) =>
  SIZES.map((n) => ({ dtype, values: randomValues(dtype, n) })),
)

test(
  'coremltools and our writer produce identical weight files; each reads the other',
  { skip },
  () => {
    const theirs = join(tmp, 'theirs.bin')
    const ours = join(tmp, 'ours.bin')
    const w = BlobWriter.open(ours)
    const offsets = blobs.map((b) => w.append(b.dtype, encode(b.dtype, b.values), b.values.length))
    w.close()
    const reads = (offs: number[]) => offs.map((offset, i) => ({ offset, dtype: blobs[i].dtype }))
    const [written, readOurs] = oracle([
      { op: 'blob-write', file: theirs, blobs },
      { op: 'blob-read', file: ours, reads: reads(offsets) },
    ])
    assert.deepEqual(written.offsets, offsets)
    const a = readFileSync(theirs)
    const b = readFileSync(ours)
    assert.equal(b.length, a.length)
    assert.equal(
      a.findIndex((x, i) => x !== b[i]),
      -1,
      'first differing byte',
    )
    // coremltools reads every blob of our file back to the values we wrote.
    ;(readOurs.values as number[][]).forEach((v, i) =>
      assert.deepEqual(v, blobs[i].values, `${blobs[i].dtype}[${v.length}]`),
    )
    // We read every blob of coremltools' file, checking the dtype it recorded.
    const r = BlobReader.open(theirs)
    assert.equal(r.count, blobs.length)
    assert.deepEqual(
      r.entries().map((e) => e.offset),
      offsets,
    )
    blobs.forEach((blob, i) => {
      const got = r.read(offsets[i], blob.dtype)
      assert.equal(got.elementCount, blob.values.length)
      assert.deepEqual(
        asInts(blob.dtype, blobElements(got)),
        blob.values,
        `${blob.dtype}[${blob.values.length}]`,
      )
    })
    r.close()
  },
)

test('coremltools checks the dtype recorded in our metadata, as our reader does', { skip }, () => {
  const ours = join(tmp, 'one.bin')
  const w = BlobWriter.open(ours)
  const off = w.append('uint6', packBits([1, 2, 3, 63], 6), 4)
  w.close()
  const [bad, good] = formatsOracleRaw([
    { op: 'blob-read', file: ours, reads: [{ offset: off, dtype: 'uint4' }] },
    { op: 'blob-read', file: ours, reads: [{ offset: off, dtype: 'uint6' }] },
  ])
  assert.match(String(bad.error), /data type does not match/)
  assert.deepEqual(good.values, [[1, 2, 3, 63]])
})
