import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import {
  buildGguf,
  f32Bytes,
  kvStr,
  kvU32,
  type Kv,
} from '../../test/fixtures/checkpoint/gguf-builder.js'
import { FormatError } from '../util/errors.js'
import { floatToHalf } from '../util/fp16.js'
import { GgufValueType as V, readGguf, readGgufTensor } from './gguf.js'
import { GGML_TYPES, ggmlTypeByName } from './gguf-quants.js'

const FIX = fileURLToPath(new URL('../../test/fixtures/checkpoint/', import.meta.url))
const tmp = mkdtempSync(join(tmpdir(), 'anemll-gguf-'))
let n = 0
const write = (bytes: Uint8Array): string => {
  const p = join(tmp, `t${n++}.gguf`)
  writeFileSync(p, bytes)
  return p
}
const sha = (x: Float32Array) =>
  createHash('sha256')
    .update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))
    .digest('hex')
const rejects = (path: string, re: RegExp) =>
  assert.throws(
    () => readGguf(path),
    (e: unknown) => e instanceof FormatError && e.file === path && re.test(e.message),
  )

test('every metadata value type matches what gguf-py wrote (values.gguf)', () => {
  const want = JSON.parse(readFileSync(join(FIX, 'values.json'), 'utf8')) as {
    alignment: number
    metadata: Record<string, { type: string; elementType?: string; value: unknown }>
  }
  const g = readGguf(join(FIX, 'values.gguf'))
  assert.equal(g.alignment, want.alignment)
  assert.equal(g.dataOffset % want.alignment, 0)
  for (const [key, w] of Object.entries(want.metadata)) {
    const info = g.metadataTypes.get(key)
    assert.equal(info?.type, V[w.type as keyof typeof V], key)
    if (w.elementType) assert.equal(info?.elementType, V[w.elementType as keyof typeof V], key)
    const got = g.metadata.get(key)
    if (typeof got === 'bigint') assert.equal(got, BigInt(w.value as string))
    else if (w.type === 'FLOAT32')
      assert.equal(Math.fround(got as number), Math.fround(w.value as number))
    else assert.deepEqual(got, w.value, key)
  }
  assert.equal(g.metadata.get('v.f32'), 0.1) // shortest decimal of the stored float32
  const [a, b] = g.tensors
  assert.deepEqual([a.name, a.dims, a.shape], ['t.a', [5], [5]])
  assert.deepEqual([b.name, b.dims, b.shape], ['t.b', [3, 2], [2, 3]])
  assert.deepEqual([...readGgufTensor(g, b)], [0, 1, 2, 3, 4, 5])
})

test('dequantization matches gguf.quants.dequantize bit for bit, for every supported type', () => {
  const want = JSON.parse(readFileSync(join(FIX, 'quants.json'), 'utf8')) as Record<
    string,
    { type: string; dims: number[]; sha256: string; first: number[]; count: number }
  >
  const g = readGguf(join(FIX, 'quants.gguf'))
  const seen = new Set<string>()
  for (const t of g.tensors) {
    const w = want[t.name]
    assert.equal(t.typeName, w.type, t.name)
    assert.deepEqual(t.dims, w.dims, t.name)
    const x = readGgufTensor(g, t)
    assert.equal(x.length, w.count)
    assert.deepEqual([...x.subarray(0, 8)], w.first, t.name)
    assert.equal(sha(x), w.sha256, `${t.name}: dequantized bytes differ from gguf-py`)
    seen.add(t.typeName)
  }
  const supported = [...GGML_TYPES.values()].filter((t) => t.dequant).map((t) => t.name)
  assert.deepEqual([...seen].sort(), supported.sort())
})

test('a hand-built Q8_0 block dequantizes to scale × int8 (arange(1, 33) × 2)', () => {
  const block = new Uint8Array(34)
  new DataView(block.buffer).setUint16(0, floatToHalf(2), true)
  for (let i = 0; i < 32; i++) block[2 + i] = i + 1
  const out = new Float32Array(32)
  ggmlTypeByName('Q8_0')!.dequant!(block, out)
  assert.deepEqual(
    [...out],
    Array.from({ length: 32 }, (_, i) => (i + 1) * 2),
  )
})

test('a hand-built Q4_0 block: low nibbles are elements 0-15, high nibbles 16-31, offset 8', () => {
  const block = new Uint8Array(18)
  new DataView(block.buffer).setUint16(0, floatToHalf(0.5), true)
  for (let j = 0; j < 16; j++) block[2 + j] = j | ((15 - j) << 4)
  const out = new Float32Array(32)
  ggmlTypeByName('Q4_0')!.dequant!(block, out)
  for (let j = 0; j < 16; j++) {
    assert.equal(out[j], (j - 8) * 0.5)
    assert.equal(out[j + 16], (15 - j - 8) * 0.5)
  }
})

test('version 2 files read like version 3', () => {
  const g = readGguf(join(FIX, 'v2.gguf'))
  assert.equal(g.version, 2)
  assert.equal(g.metadata.get('general.architecture'), 'llama')
  assert.equal(g.tensors.length, 11)
})

test('big-endian files are refused with a clear message', () => {
  rejects(join(FIX, 'big-endian.gguf'), /big-endian GGUF/)
})

test('bad magic, version 1 and unknown versions are refused', () => {
  const good = buildGguf({ kvs: [kvU32('a', 1)] })
  const bad = Buffer.from(good)
  bad.write('GGUX', 0)
  rejects(write(bad), /not a GGUF file/)
  rejects(write(buildGguf({ version: 1 })), /version 1 is not supported/)
  rejects(write(buildGguf({ version: 4 })), /version 4 is not supported/)
})

test('every truncation of a valid file is a FormatError naming the file', () => {
  const whole = readFileSync(join(FIX, 'values.gguf'))
  const end = Math.max(
    ...readGguf(join(FIX, 'values.gguf')).tensors.map((t) => t.fileOffset + t.byteLength),
  )
  for (let cut = 0; cut < end; cut++) {
    const p = write(whole.subarray(0, cut))
    assert.throws(
      () => readGguf(p),
      (e: unknown) => e instanceof FormatError && e.file === p,
      `cut at ${cut}`,
    )
  }
})

test('lying counts and lengths are caught before any allocation', () => {
  rejects(
    write(buildGguf({ kvs: [kvU32('a', 1)], nKv: 2n ** 40n })),
    /metadata count .* cannot fit/,
  )
  rejects(write(buildGguf({ nTensors: 1e12 })), /tensor count .* cannot fit/)
  rejects(write(buildGguf({ nKv: 2n ** 63n })), /too large/)
  const hugeKey: Kv = { key: 'k', write: (b) => b.u32(V.STRING).str('x', 2n ** 50n) }
  rejects(write(buildGguf({ kvs: [hugeKey] })), /value of 1125899906842624 bytes exceeds the limit/)
  const longKey: Kv = { key: 'k', write: (b) => b.u32(V.STRING).str('x', 1000) }
  rejects(write(buildGguf({ kvs: [longKey] })), /truncated: key 'k' value needs 1000 bytes/)
  // A count that fits the file (a 40 MB file of u8s) but is beyond any real array.
  const bigFile: Kv = {
    key: 'arr',
    write: (b) =>
      b
        .u32(V.ARRAY)
        .u32(V.UINT8)
        .u64(2 ** 25)
        .raw(new Uint8Array(2 ** 25)),
  }
  rejects(write(buildGguf({ kvs: [bigFile] })), /array of 33554432 elements exceeds the limit/)
  const hugeArray: Kv = {
    key: 'arr',
    write: (b) =>
      b
        .u32(V.ARRAY)
        .u32(V.UINT32)
        .u64(2 ** 24)
        .u32(1),
  }
  rejects(write(buildGguf({ kvs: [hugeArray] })), /key 'arr' array count .* cannot fit/)
})

test('malformed metadata: unknown types, bad bools, deep nesting, duplicate keys, bad alignment', () => {
  const kv = (write: Kv['write']): Kv => ({ key: 'k', write })
  rejects(write(buildGguf({ kvs: [kv((b) => b.u32(42).u32(0))] })), /unknown value type 42/)
  rejects(
    write(buildGguf({ kvs: [kv((b) => b.u32(V.ARRAY).u32(77).u64(1).u32(0))] })),
    /unknown array element type/,
  )
  rejects(write(buildGguf({ kvs: [kv((b) => b.u32(V.BOOL).u8(7))] })), /bool byte is 7/)
  const deep = kv((b) => {
    for (let i = 0; i < 20; i++) b.u32(V.ARRAY).u64(1)
    b.u32(V.UINT8).u64(1).u8(0)
  })
  rejects(
    write(
      buildGguf({
        kvs: [
          {
            key: 'k',
            write: (b) => {
              b.u32(V.ARRAY)
              deep.write(b)
            },
          },
        ],
      }),
    ),
    /nested deeper/,
  )
  rejects(write(buildGguf({ kvs: [kvU32('a', 1), kvU32('a', 2)] })), /duplicate metadata key 'a'/)
  rejects(write(buildGguf({ kvs: [kvU32('general.alignment', 48)] })), /power of two/)
  rejects(write(buildGguf({ kvs: [kvStr('general.alignment', '32')] })), /power of two/)
})

test('malformed tensor infos: type, dims, offsets, overlap, bounds, duplicates', () => {
  const t = (
    o: Partial<{ name: string; dims: number[]; type: number; offset: number; data: Uint8Array }>,
  ) => ({
    name: 'w',
    dims: [4],
    type: 0,
    data: f32Bytes([1, 2, 3, 4]),
    ...o,
  })
  rejects(write(buildGguf({ tensors: [t({ type: 99 })] })), /unknown GGML type 99/)
  rejects(write(buildGguf({ tensors: [t({ dims: [1, 1, 1, 1, 4] })] })), /5 dims/)
  rejects(write(buildGguf({ tensors: [t({ dims: [0] })] })), /dim 0 = 0/)
  rejects(write(buildGguf({ tensors: [t({ offset: 4 })] })), /not 32-aligned/)
  rejects(write(buildGguf({ tensors: [t({ dims: [1 << 20] })] })), /runs past the end/)
  rejects(
    write(
      buildGguf({
        tensors: [
          t({}),
          t({ name: 'v', dims: [16], offset: 0, data: f32Bytes(new Array(16).fill(0)) }),
        ],
      }),
    ),
    /overlap/,
  )
  rejects(write(buildGguf({ tensors: [t({}), t({ offset: 32 })] })), /duplicate tensor name 'w'/)
  rejects(
    write(buildGguf({ tensors: [t({ type: 8, dims: [16], data: new Uint8Array(17) })] })),
    /not a multiple of Q8_0's block of 32/,
  )
})

test('tensors of types we cannot dequantize are listed but refuse to read, naming the type', () => {
  const p = write(
    buildGguf({ tensors: [{ name: 'q2', dims: [256], type: 10, data: new Uint8Array(84) }] }),
  )
  const g = readGguf(p)
  assert.equal(g.tensors[0].typeName, 'Q2_K')
  assert.equal(g.tensors[0].byteLength, 84)
  assert.throws(
    () => readGgufTensor(g, g.tensors[0]),
    /Q2_K, which cannot be dequantized \(supported: F32, F16.*Q6_K/,
  )
})

test('random corruption of the header never escapes as anything but a FormatError', () => {
  const whole = readFileSync(join(FIX, 'values.gguf'))
  const header = readGguf(join(FIX, 'values.gguf')).dataOffset
  let seed = 12345
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  for (let i = 0; i < 400; i++) {
    const b = Buffer.from(whole)
    for (let k = 0; k < 3; k++) b[Math.floor(rand() * header)] = Math.floor(rand() * 256)
    const p = write(b)
    try {
      readGguf(p)
    } catch (e) {
      assert.ok(e instanceof FormatError, `iteration ${i}: ${String(e)}`)
    }
  }
})

test('reading one tensor reads only its bytes (a 2 GiB sparse neighbour costs nothing)', () => {
  const p = write(
    buildGguf({
      tensors: [
        { name: 's', dims: [4], type: 0, data: f32Bytes([7, 8, 9, 10]) },
        { name: 'big', dims: [2 ** 29], type: 0, offset: 32, data: new Uint8Array(0) },
      ],
    }),
  )
  truncateSync(p, statSync(p).size + 2 ** 31) // sparse: the big tensor's bytes cost no disk
  const g = readGguf(p)
  const before = process.memoryUsage().rss
  assert.deepEqual([...readGgufTensor(g, g.tensors[0])], [7, 8, 9, 10])
  assert.ok(process.memoryUsage().rss - before < 64 * 2 ** 20)
  assert.equal(g.tensors[1].byteLength, 2 ** 31)
})

test('dequantizing into a caller buffer gives the same bits and a view of exactly the tensor', () => {
  const g = readGguf(join(FIX, 'quants.gguf'))
  const buf = new Float32Array(4096).fill(-1)
  for (const t of g.tensors) {
    const x = readGgufTensor(g, t, buf)
    assert.equal(x.buffer, buf.buffer)
    assert.deepEqual(x, readGgufTensor(g, t), t.name)
  }
  assert.throws(() => readGgufTensor(g, g.tensors[0], new Float32Array(3)), RangeError)
})
