// Hostile and broken weight files: every problem is a FormatError naming the file and offset,
// never a crash, a hang or an allocation sized by a lying header.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BlobReader } from './milblob-reader.js'
import { BlobWriter } from './milblob-writer.js'
import { packBits } from './bitpack.js'
import { FormatError } from '../util/errors.js'

const SHARED = process.env.ANEMLL_SHARED ?? join(import.meta.dirname, '../../../shared')
const tmp = mkdtempSync(join(tmpdir(), 'milblob-bad-'))
test.after(() => rmSync(tmp, { recursive: true, force: true }))

/** A good two-blob file (fp16 ×4 at 64, uint4 ×5 at 192), returned as bytes to corrupt. */
function good(): Buffer {
  const path = join(tmp, 'good.bin')
  const w = BlobWriter.open(path)
  w.append('fp16', new Uint16Array([1, 2, 3, 4]), 4)
  w.append('uint4', packBits([1, 2, 3, 4, 5], 4), 5)
  w.close()
  return readFileSync(path)
}

let n = 0
function fileWith(bytes: Uint8Array): string {
  const path = join(tmp, `bad-${n++}.bin`)
  writeFileSync(path, bytes)
  return path
}

/** Asserts `fn` throws a FormatError for `file` whose message matches `re`. */
function rejects(file: string, fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof FormatError, `${e.name}: ${e.message}`)
    assert.equal(e.file, file)
    assert.match(e.message, re)
    return true
  })
}

test('a file shorter than its header, or of another version, does not open', () => {
  for (const len of [0, 10, 63]) {
    const f = fileWith(good().subarray(0, len))
    rejects(f, () => BlobReader.open(f), /shorter than its 64-byte header/)
  }
  const v1 = good()
  v1.writeUInt32LE(1, 4)
  const f = fileWith(v1)
  rejects(f, () => BlobReader.open(f), /unsupported weight file version 1/)
})

test('a blob count the file cannot hold does not open (and does not loop)', () => {
  const b = good()
  b.writeUInt32LE(0xffffffff, 0)
  const f = fileWith(b)
  rejects(f, () => BlobReader.open(f), /claims 4294967295 blobs/)
  const c = good()
  c.writeUInt32LE(3, 0) // 3 records fit the size check, but the chain ends after 2
  const g = fileWith(c)
  const r = BlobReader.open(g)
  rejects(g, () => r.entries(), /offset 320: no blob record fits/)
  r.close()
})

test('truncated data is reported at the record that points past the end', () => {
  const full = good()
  const f = fileWith(full.subarray(0, full.length - 1))
  const r = BlobReader.open(f)
  assert.equal(r.read(64).bytes.length, 8)
  rejects(f, () => r.read(192), /offset 192: data \[256, 259\) is outside the file \(258 bytes\)/)
  rejects(f, () => r.entries(), /offset 192/)
  r.close()
})

test('bad sentinel, unknown dtype and out-of-range offsets name the offset', () => {
  const b = good()
  b.writeUInt32LE(0x12345678, 192)
  const f = fileWith(b)
  const r = BlobReader.open(f)
  rejects(f, () => r.read(192), /offset 192: bad sentinel 0x12345678/)
  rejects(f, () => r.read(100), /offset 100: bad sentinel/) // not a record boundary
  rejects(f, () => r.read(0), /offset 0: no blob record fits/) // the header is not a blob
  rejects(f, () => r.read(10_000), /offset 10000: no blob record fits/)
  rejects(f, () => r.read(2n ** 63n), /past the end of the file/)
  rejects(f, () => r.read(-64), /no blob record fits/)
  rejects(f, () => r.read(64.5), /no blob record fits/)
  r.close()
  const c = good()
  c.writeUInt32LE(99, 64 + 4)
  const g = fileWith(c)
  const q = BlobReader.open(g)
  rejects(g, () => q.read(64), /offset 64: unknown blob data type code 99/)
  q.close()
})

test('a lying size or data offset is rejected before anything is allocated', () => {
  const b = good()
  b.writeBigUInt64LE(2n ** 62n, 64 + 8) // sizeInBytes
  const f = fileWith(b)
  const r = BlobReader.open(f)
  const before = process.memoryUsage().arrayBuffers
  rejects(f, () => r.read(64), /data size 4611686018427387904 is past the end/)
  assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20)
  r.close()
  const c = good()
  c.writeBigUInt64LE(32n, 64 + 16) // data offset inside the header
  const g = fileWith(c)
  const q = BlobReader.open(g)
  rejects(g, () => q.read(64), /overlaps its record/)
  q.close()
})

test('sub-byte padding must be < 8 and consistent; 8-bit and wider ignore padding', () => {
  const b = good()
  b.writeBigUInt64LE(8n, 192 + 24)
  const f = fileWith(b)
  const r = BlobReader.open(f)
  rejects(f, () => r.read(192), /padding of 8 bits/)
  r.close()
  const c = good()
  c.writeBigUInt64LE(3n, 192 + 24) // 24 − 3 bits is not a whole number of uint4
  const g = fileWith(c)
  const q = BlobReader.open(g)
  rejects(g, () => q.read(192), /not a whole number of uint4/)
  q.close()
  // Garbage padding and reserved words on an fp16 record (as coremltools 7.2 writes) are fine.
  const d = good()
  d.writeBigUInt64LE(0x1_2345_6789n, 64 + 24)
  d.writeBigUInt64LE(0xdead_beefn, 64 + 40)
  const h = fileWith(d)
  const s = BlobReader.open(h)
  assert.equal(s.read(64, 'fp16').elementCount, 4)
  s.close()
})

test('an fp16 record whose size is odd is rejected', () => {
  const b = good()
  b.writeBigUInt64LE(7n, 64 + 8)
  const f = fileWith(b)
  const r = BlobReader.open(f)
  rejects(f, () => r.read(64), /7 bytes is not a whole number of fp16/)
  r.close()
})

test('dtln-aec-128 (coremltools 7.2, garbage in padding/reserved words) reads', () => {
  const dir = join(
    SHARED,
    'models/coreml/dtln-aec-128/DTLN_AEC_128_Part1.mlpackage/Data/com.apple.CoreML/weights',
  )
  const src = join(dir, 'weight.bin')
  const raw = readFileSync(src)
  // The premise: some fp16 record really has a non-zero padding word.
  let garbage = 0
  for (let at = 64; at + 64 <= raw.length; at += 64) {
    if (raw.readUInt32LE(at) === 0xdeadbeef && raw.readBigUInt64LE(at + 24) !== 0n) garbage++
  }
  assert.ok(garbage > 0, 'expected uninitialised padding words in this file')
  const copy = join(tmp, 'dtln.bin')
  copyFileSync(src, copy)
  const r = BlobReader.open(copy)
  assert.ok(r.entries().every((e) => e.dtype === 'fp16'))
  r.close()
})
