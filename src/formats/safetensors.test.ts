import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { FormatError } from '../util/errors.js'
import {
  MAX_HEADER_BYTES,
  readSafetensorsFloat32,
  readSafetensorsHeader,
  readSafetensorsTensor,
} from './safetensors.js'
import { SHARED } from '../../test/fixtures/paths.js'

const FIX = fileURLToPath(new URL('../../test/fixtures/checkpoint/', import.meta.url))
const STORIES = join(SHARED, 'models/stories260K/model.safetensors')
const tmp = mkdtempSync(join(tmpdir(), 'anemll-st-'))
let n = 0
const write = (bytes: Uint8Array): string => {
  const p = join(tmp, `t${n++}.safetensors`)
  writeFileSync(p, bytes)
  return p
}
const sha = (x: Float32Array) =>
  createHash('sha256')
    .update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))
    .digest('hex')

/** A safetensors file from a header (object or raw text) and data bytes. */
function st(header: unknown, data: Uint8Array = new Uint8Array(0), lieLength?: bigint): Buffer {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header))
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(lieLength ?? BigInt(text.length))
  return Buffer.concat([len, text, data])
}
const rejects = (path: string, re: RegExp) =>
  assert.throws(
    () => readSafetensorsHeader(path),
    (e: unknown) => e instanceof FormatError && e.file === path && re.test(e.message),
  )

const NP_TO_ST: Record<string, string> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int8: 'I8',
  uint8: 'U8',
  int32: 'I32',
  int64: 'I64',
}

test('every dtype converts to the float32 values numpy gives (file written by the safetensors package)', () => {
  const want = JSON.parse(readFileSync(join(FIX, 'dtypes.json'), 'utf8')) as Record<
    string,
    { dtype: string; shape: number[]; count: number; sha256: string; values?: number[] }
  >
  const f = readSafetensorsHeader(join(FIX, 'dtypes.safetensors'))
  assert.deepEqual(f.metadata, { format: 'np', note: 'anemll golden' })
  assert.deepEqual([...f.tensors.keys()].sort(), Object.keys(want).sort())
  for (const [name, w] of Object.entries(want)) {
    const info = f.tensors.get(name)!
    assert.equal(info.dtype, NP_TO_ST[w.dtype], name)
    assert.deepEqual(info.shape, w.shape, name)
    const direct = readSafetensorsFloat32(f, name)
    const raw = readSafetensorsTensor(f, name)
    assert.equal(raw.data.byteLength, info.byteLength)
    for (const x of [direct, raw.toFloat32()]) {
      assert.equal(x.length, w.count, name)
      if (w.values) assert.deepEqual([...x], w.values, name)
      assert.equal(sha(x), w.sha256, name)
    }
  }
})

test('a real checkpoint: stories260K header, names, shapes and a tensor', () => {
  const f = readSafetensorsHeader(STORIES)
  assert.equal(f.tensors.size, 47)
  assert.deepEqual(f.metadata, { format: 'pt' })
  assert.deepEqual(f.tensors.get('model.embed_tokens.weight')?.shape, [512, 64])
  assert.deepEqual(f.tensors.get('model.layers.4.mlp.down_proj.weight')?.shape, [64, 172])
  const bytes = readFileSync(STORIES)
  const info = f.tensors.get('model.norm.weight')!
  const want = new Float32Array(
    bytes.buffer.slice(
      bytes.byteOffset + info.fileOffset,
      bytes.byteOffset + info.fileOffset + 256,
    ),
  )
  assert.deepEqual(readSafetensorsFloat32(f, 'model.norm.weight'), want)
})

test('header sanity: size, length limit, JSON, UTF-8, object shape', () => {
  rejects(write(Buffer.alloc(5)), /too short/)
  rejects(write(st({}, undefined, BigInt(MAX_HEADER_BYTES) + 1n)), /exceeds the .*-byte limit/)
  rejects(write(st({}, undefined, 1000n)), /truncated: header length 1000/)
  rejects(write(st('{"a": ')), /not valid JSON/)
  rejects(write(st('[1, 2]')), /not a JSON object/)
  rejects(
    write(Buffer.concat([st('{}').subarray(0, 8), Buffer.from([0x7b, 0xff, 0x7d])])),
    /not valid UTF-8/,
  )
  rejects(write(st({ __metadata__: { a: 1 } })), /__metadata__ must map strings to strings/)
})

test('tensor entries: unknown dtype (lists the supported), shapes, offsets, bounds, overlap', () => {
  const e = (o: object) => ({ dtype: 'F32', shape: [2], data_offsets: [0, 8], ...o })
  const data = new Uint8Array(16)
  rejects(
    write(st({ w: e({ dtype: 'F8_E4M3' }) }, data)),
    /unsupported dtype F8_E4M3 \(supported: BF16, F16, F32, I8, U8, I32, I64\)/,
  )
  rejects(write(st({ w: 5 }, data)), /tensor 'w': header entry is not an object/)
  rejects(write(st({ w: e({ dtype: undefined }) }, data)), /dtype is missing/)
  rejects(write(st({ w: e({ shape: [2.5] }) }, data)), /shape is not a list of sizes/)
  rejects(write(st({ w: e({ shape: [-2] }) }, data)), /shape is not a list of sizes/)
  rejects(write(st({ w: e({ data_offsets: [8, 0] }) }, data)), /data_offsets is not \[begin, end\]/)
  rejects(write(st({ w: e({ data_offsets: [0] }) }, data)), /data_offsets is not \[begin, end\]/)
  rejects(write(st({ w: e({ shape: [3] }) }, data)), /needs 12 bytes, data_offsets span 8/)
  rejects(
    write(st({ w: e({ data_offsets: [16, 24] }) }, data)),
    /past the data section .*truncated/,
  )
  rejects(write(st({ w: e({}), v: e({ data_offsets: [4, 12] }) }, data)), /overlap/)
  const ok = readSafetensorsHeader(
    write(
      st(
        { w: e({}), v: e({ data_offsets: [8, 16] }), z: e({ shape: [0], data_offsets: [8, 8] }) },
        data,
      ),
    ),
  )
  assert.equal(ok.tensors.size, 3)
  assert.throws(() => readSafetensorsTensor(ok, 'nope'), /no tensor named 'nope'/)
})

test('every truncation of a real file is a FormatError naming the file', () => {
  const whole = readFileSync(join(FIX, 'dtypes.safetensors'))
  for (let cut = 0; cut < whole.length; cut += 7) {
    const p = write(whole.subarray(0, cut))
    assert.throws(
      () => readSafetensorsHeader(p),
      (e: unknown) => e instanceof FormatError && e.file === p,
      `cut ${cut}`,
    )
  }
})

test('random corruption of the header never escapes as anything but a FormatError', () => {
  const whole = readFileSync(join(FIX, 'dtypes.safetensors'))
  const headerEnd = 8 + Number(whole.readBigUInt64LE(0))
  let seed = 777
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  for (let i = 0; i < 400; i++) {
    const b = Buffer.from(whole)
    for (let k = 0; k < 2; k++) b[Math.floor(rand() * headerEnd)] = Math.floor(rand() * 256)
    const p = write(b)
    try {
      const f = readSafetensorsHeader(p)
      for (const name of f.tensors.keys()) readSafetensorsFloat32(f, name)
    } catch (e) {
      assert.ok(e instanceof FormatError, `iteration ${i}: ${String(e)}`)
    }
  }
})

test('reading into a caller buffer: a view of exactly the tensor, the rest untouched, too small refused', () => {
  const want = JSON.parse(readFileSync(join(FIX, 'dtypes.json'), 'utf8')) as Record<
    string,
    { sha256: string; count: number }
  >
  const f = readSafetensorsHeader(join(FIX, 'dtypes.safetensors'))
  const buf = new Float32Array(4096)
  for (const [name, w] of Object.entries(want)) {
    buf.fill(42)
    const x = readSafetensorsFloat32(f, name, buf)
    assert.equal(x.buffer, buf.buffer, name)
    assert.equal(x.length, w.count, name)
    assert.equal(sha(x), w.sha256, name)
    assert.ok(
      buf.subarray(w.count).every((v) => v === 42),
      name,
    )
  }
  assert.throws(() => readSafetensorsFloat32(f, 'big.bf16', new Float32Array(10)), RangeError)
})
