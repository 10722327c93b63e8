import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chunkModel, lutModel } from '../../test/package/programs.js'
import { BlobWriter } from '../formats/milblob-writer.js'
import type { BlobDType } from '../formats/milblob.js'
import { parseMil } from '../mil/parse.js'
import { printProgram } from '../mil/print.js'
import { walkOps } from '../mil/program.js'
import { numel, typeToString } from '../mil/types.js'
import { isLazy, materialize, PackedBits, type TensorValue } from '../mil/value.js'
import { FormatError } from '../util/errors.js'
import { readCoreMLData } from './coremldata.js'
import { readCompiledModel } from './mlmodelc.js'

const SHARED = process.env.ANEMLL_SHARED ?? join(import.meta.dirname, '../../../shared')
const MODELS = join(SHARED, 'models/coreml')
const compiled = readdirSync(MODELS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join(MODELS, d.name))
      .filter((f) => f.endsWith('.mlmodelc'))
      .map((f) => join(MODELS, d.name, f)),
  )
const SILERO = join(MODELS, 'silero-vad-fp16/silero-vad-unified-v6.0.0.mlmodelc')
const tmp = mkdtempSync(join(tmpdir(), 'anemll-mlmodelc-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

/** A writable copy of a compiled model with model.mil edited by `edit`. */
function variant(src: string, name: string, edit: (mil: string) => string = (s) => s): string {
  const dir = join(tmp, name)
  cpSync(src, dir, { recursive: true })
  // shared/ may be read-only; the copy must not be.
  const chmodAll = (p: string): void => {
    chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644)
    if (statSync(p).isDirectory()) for (const f of readdirSync(p)) chmodAll(join(p, f))
  }
  chmodAll(dir)
  const mil = join(dir, 'model.mil')
  writeFileSync(mil, edit(readFileSync(mil, 'utf8')))
  return dir
}

test('every compiled model in shared/models/coreml reads, and reprints as Apple printed it', async () => {
  assert.equal(compiled.length, 7)
  for (const dir of compiled) {
    const model = await readCompiledModel(dir)
    const text = readFileSync(join(dir, 'model.mil'), 'utf8')
    const parsed = parseMil(text, 'model.mil')
    // Apple's compiler (coremlc 3402–3500) spells scalars `tensor<T, []>`; ours `T`. Otherwise
    // our printer gives the compiler's own text back, byte for byte.
    const ours = printProgram(parsed.program, { version: parsed.version })
    assert.equal(ours, text.replace(/tensor<(\w+), \[\]>/g, '$1').replace(/\n?$/, '\n'), dir)
    const ops = [...walkOps(model.program.functions[0].block)]
    // Every op is known (pad and lstm included), so each one's declared types were checked.
    assert.deepEqual(
      ops.filter((o) => o.opaque).map((o) => o.type),
      [],
      dir,
    )
    // Every weight is lazy and loads with its declared element count.
    for (const op of ops) {
      if (op.type !== 'const' || !isLazy(op.value!.data)) continue
      assert.ok(op.value!.data.blob!.path.endsWith(join('weights', 'weight.bin')))
      materialize(op.value!)
    }
  }
})

test('strict mode rejects ops outside our table, naming the op and the function', async () => {
  const odd = variant(SILERO, 'frobnicate', (mil) => mil.replace(' = pad(', ' = frobnicate('))
  await assert.rejects(readCompiledModel(odd, { strict: true }), (e: Error) => {
    assert.ok(e instanceof FormatError)
    assert.match(
      e.message,
      /model\.mil: line \d+ col \d+: unknown op 'frobnicate' \(function main\)/,
    )
    return true
  })
  for (const dir of compiled) await readCompiledModel(dir, { strict: true })
})

test('metadata.json and the description in coremldata.bin', async () => {
  const m = await readCompiledModel(SILERO)
  assert.equal(m.specVersion, 6)
  assert.equal(m.metadata.author, 'Fluid Infernece + Silero Team')
  assert.equal(m.metadata.version, '6.0.0')
  assert.equal(m.metadata.shortDescription, 'Silero VAD Unified Model (STFT + Encoder + Decoder)')
  assert.equal(m.metadata.userDefined['com.github.apple.coremltools.version'], '9.0b1')
  // model.mil lists inputs sorted by name; the description has the model's real order.
  const fn = m.program.functions[0]
  assert.deepEqual(
    fn.inputs.map((i) => i.var.name),
    ['audio_input', 'hidden_state', 'cell_state'],
  )
  assert.deepEqual(
    fn.block.outputs.map((v) => v.name),
    ['vad_output', 'new_hidden_state', 'new_cell_state'],
  )
  const data = readCoreMLData(readFileSync(join(SILERO, 'coremldata.bin')))
  assert.equal(data.specVersion, 6)
  assert.deepEqual(
    data.description?.input.map((d) => d.name),
    ['audio_input', 'hidden_state', 'cell_state'],
  )
  assert.equal(data.description?.metadata?.author, 'Fluid Infernece + Silero Team')
  const enc = await readCompiledModel(join(MODELS, 'fluidaudio-helpers/TransposeEncoder.mlmodelc'))
  const x = enc.program.functions[0].inputs[0]
  assert.equal(typeToString(x.var.type), 'tensor<fp16, [1, ?, ?]>')
  assert.deepEqual(x.flexibility, {
    kind: 'range',
    ranges: [
      [1, 1],
      [1, 2048],
      [1, 2048],
    ],
  })
  assert.deepEqual(x.defaultShape, [1, 1, 1])
  assert.equal(enc.metadata.author, 'FluidAudio')
})

test('coremldata.bin that is not what we expect means "no description", never a crash', () => {
  const real = readFileSync(join(SILERO, 'coremldata.bin'))
  assert.deepEqual(readCoreMLData(new Uint8Array(0)), {})
  assert.deepEqual(readCoreMLData(real.subarray(0, 40)), {})
  for (let cut = 0x50; cut < real.length; cut += 37) {
    const r = readCoreMLData(real.subarray(0, cut))
    assert.ok(r.description === undefined || r.description.input.length <= 3)
  }
  const lying = Uint8Array.from(real)
  new DataView(lying.buffer).setBigUint64(0x4b, 2n ** 62n, true)
  assert.deepEqual(readCoreMLData(lying), { specVersion: 6 })
  let seed = 7
  const noise = Uint8Array.from(real, (b, i) =>
    i < 0x53 ? b : (seed = (seed * 1103515245 + 12345) & 0xff),
  )
  readCoreMLData(noise)
})

test('lazy weights: nothing is read until a value is loaded', async () => {
  const dir = variant(SILERO, 'lazy')
  const m = await readCompiledModel(dir)
  truncateSync(join(dir, 'weights/weight.bin'), 1000)
  const big = [...walkOps(m.program.functions[0].block)].find(
    (o) => o.type === 'const' && o.value!.type.shape.join() === '258,1,256',
  )!
  assert.throws(
    () => materialize(big.value!),
    (e: Error) => e instanceof FormatError && /weight\.bin/.test(e.message),
  )
})

test('bad BLOBFILE references are FormatErrors naming weight.bin and the offset', async () => {
  const bad = async (name: string, edit: (s: string) => string, re: RegExp) =>
    assert.rejects(readCompiledModel(variant(SILERO, name, edit)), (e: Error) => {
      assert.ok(e instanceof FormatError, e.message)
      assert.match(e.message, re)
      return true
    })
  await bad(
    'off',
    (s) => s.replace('offset = tensor<uint64, []>(64)', 'offset = tensor<uint64, []>(65)'),
    /weight\.bin: blob at offset 65: bad sentinel/,
  )
  await bad(
    'past',
    (s) => s.replace('offset = tensor<uint64, []>(64)', 'offset = tensor<uint64, []>(9999999)'),
    /weight\.bin: blob at offset 9999999: no blob record fits/,
  )
  // Offset 132352 is a [256, 128, 3] fp16 blob; the [258, 1, 256] const cannot live there.
  const second = readFileSync(join(SILERO, 'model.mil'), 'utf8').match(
    /offset = tensor<uint64, \[\]>\((\d+)\)/g,
  )![1]
  await bad(
    'mismatch',
    (s) => s.replace('offset = tensor<uint64, []>(64)', second),
    /weight\.bin: blob at offset \d+ holds \d+ fp16 values but model\.mil declares tensor<fp16, \[258, 1, 256\]>/,
  )
  await bad(
    'escape',
    (s) =>
      s.replace(
        '@model_path/weights/weight.bin"), offset = tensor<uint64, []>(64)',
        '@model_path/../weight.bin"), offset = tensor<uint64, []>(64)',
      ),
    /leaves the model directory/,
  )
  await bad(
    'missing',
    (s) =>
      s.replace(
        '@model_path/weights/weight.bin"), offset = tensor<uint64, []>(64)',
        '@model_path/weights/other.bin"), offset = tensor<uint64, []>(64)',
      ),
    /other\.bin: cannot open weight file/,
  )
})

test('a missing model.mil or broken metadata.json is a FormatError', async () => {
  const dir = variant(join(MODELS, 'fluidaudio-helpers/Argmax.mlmodelc'), 'meta')
  writeFileSync(join(dir, 'metadata.json'), '[{"author": ')
  await assert.rejects(readCompiledModel(dir), /metadata\.json: not valid JSON/)
  rmSync(join(dir, 'metadata.json'))
  rmSync(join(dir, 'coremldata.bin'))
  const m = await readCompiledModel(dir)
  assert.equal(m.specVersion, 7)
  assert.deepEqual(m.metadata.userDefined, {})
  await assert.rejects(
    readCompiledModel(join(tmp, 'nope.mlmodelc')),
    /nope\.mlmodelc\/model\.mil: cannot read/,
  )
})

test('a multi-function compiled model made with our printer and blob writer reads back', async () => {
  for (const [name, model] of [
    ['chunk', chunkModel()],
    ['lut', lutModel()],
  ] as const) {
    const dir = join(tmp, `${name}.mlmodelc`)
    mkdirSync(join(dir, 'weights'), { recursive: true })
    const w = BlobWriter.open(join(dir, 'weights/weight.bin'))
    const offsets = new Map<TensorValue, number>()
    for (const f of model.program.functions)
      for (const op of walkOps(f.block)) {
        const v = op.value
        if (!v || numel(v.type.shape) < 10 || offsets.has(v)) continue
        const d = materialize(v)
        const bytes = d instanceof PackedBits ? d.bytes : (d as Uint16Array)
        offsets.set(v, w.append(v.type.dtype as BlobDType, bytes, numel(v.type.shape)))
      }
    w.close()
    const text = printProgram(model.program, { blobOffsets: offsets })
    writeFileSync(join(dir, 'model.mil'), text)
    const last = model.program.functions.at(-1)!.name
    writeFileSync(
      join(dir, 'metadata.json'),
      JSON.stringify([{ specificationVersion: 9, defaultFunctionName: last, author: 'us' }]),
    )
    const back = await readCompiledModel(dir, { strict: true })
    assert.equal(back.specVersion, 9)
    assert.equal(back.program.defaultFunction, last)
    assert.equal(back.metadata.author, 'us')
    assert.equal(printProgram(back.program), text)
    // Weights come back from weight.bin, equal to what was written.
    const consts = (p: typeof back.program) =>
      p.functions.flatMap((f) => [...walkOps(f.block)].filter((o) => o.value))
    const a = consts(model.program)
    const b = consts(back.program)
    assert.equal(a.length, b.length)
    let lazy = 0
    a.forEach((op, i) => {
      assert.equal(b[i].name, op.name)
      if (isLazy(b[i].value!.data)) lazy++
      assert.deepEqual(materialize(b[i].value!), materialize(op.value!), op.name)
    })
    assert.equal(lazy, [...offsets.values()].length * (name === 'chunk' ? 2 : 1))
  }
})
