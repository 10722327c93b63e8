// Our .mlpackage writer and reader against coremltools: packages we write load in coremltools
// with the same signatures; packages coremltools wrote read back with the same structure and
// the same dequantized weights.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dense } from '../../src/mil/fold.js'
import { walkOps, type Var } from '../../src/mil/program.js'
import { typeToString } from '../../src/mil/types.js'
import { materialize, isLazy } from '../../src/mil/value.js'
import { readPackage } from '../../src/package/read.js'
import { programSignature } from '../../src/package/signature.js'
import { modelToProto } from '../../src/package/to-proto.js'
import { writePackage } from '../../src/package/write.js'
import { noPython, validateWithCoremltools } from '../oracle/python.js'
import { chunkModel, lutModel } from './programs.js'

const FIXTURES = join(import.meta.dirname, '../fixtures/coremltools')
const tmp = mkdtempSync(join(tmpdir(), 'anemll-pkg-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

function varsByName(fn: { block: { operations: unknown } }) {
  const out = new Map<string, Var>()
  for (const op of walkOps(fn as never)) for (const v of op.outputs) out.set(v.name, v)
  return out
}

const sha = (values: Float32Array) =>
  createHash('sha256')
    .update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength))
    .digest('hex')

for (const name of ['plain', 'stateful', 'multifunction', 'lut']) {
  test(`reads coremltools' ${name}.mlpackage: signatures, op counts and weights match coremltools`, () => {
    const expected = JSON.parse(readFileSync(join(FIXTURES, `${name}.expected.json`), 'utf8'))
    const model = readPackage(join(FIXTURES, `${name}.mlpackage`), { strict: true })
    assert.equal(model.specVersion, expected.specVersion)
    assert.equal(model.program.defaultFunction, expected.defaultFunction)
    assert.deepEqual(programSignature(model.program), expected.functions)
    assert.deepEqual(model.metadata.userDefined, expected.userDefined)
    // Serializing what we read gives coremltools' op histogram back (consts inlined into
    // constexprs, coreml_update_state lowered to write_state + read_state).
    const proto = modelToProto(model, () => 64)
    if (proto.Type.case !== 'mlProgram') throw new Error('not a program')
    const counts = Object.fromEntries(
      Object.entries(proto.Type.value.functions).map(([f, fn]) => {
        const c: Record<string, number> = {}
        for (const op of fn.blockSpecializations[fn.opset].operations)
          c[op.type] = (c[op.type] ?? 0) + 1
        return [f, c]
      }),
    )
    assert.deepEqual(counts, expected.opCounts)
    for (const [varName, w] of Object.entries(expected.weights) as [
      string,
      {
        functions: string[]
        sha256: string
        first8: number[]
        blobOffset?: number
        dtype: string
        shape: number[]
      },
    ][]) {
      for (const fname of w.functions) {
        const fn = model.program.functions.find((f) => f.name === fname)!
        const v = varsByName(fn.block as never).get(varName)
        assert.ok(v, `${fname}: var ${varName}`)
        assert.equal(typeToString(v.type), `tensor<${w.dtype}, [${w.shape.join(', ')}]>`)
        const d = dense(v)
        assert.deepEqual(Array.from(d.values.slice(0, 8)), w.first8, `${varName} first values`)
        assert.equal(sha(d.values), w.sha256, `${varName} dequantized values`)
        if (w.blobOffset !== undefined) {
          const data = v.producer!.value!.data
          assert.ok(
            isLazy(data) && data.blob?.offset === w.blobOffset,
            `${varName} is read lazily from offset ${w.blobOffset}`,
          )
        }
      }
    }
  })
}

test(
  'packages we write load in coremltools with our signatures, and read back identically',
  { skip: noPython() },
  async () => {
    for (const [name, make] of [
      ['chunk', chunkModel],
      ['lut', lutModel],
    ] as const) {
      const model = make()
      const path = join(tmp, `${name}.mlpackage`)
      const report = writePackage(model, path)
      const oracle = await validateWithCoremltools(path)
      assert.equal(oracle.ok, true, `${name}: ${oracle.error}`)
      assert.equal(oracle.specVersion, 9)
      assert.equal(oracle.defaultFunction, model.program.defaultFunction)
      assert.deepEqual(
        oracle.functions,
        programSignature(model.program),
        `${name}: coremltools' inferred signatures`,
      )

      const back = readPackage(path, { strict: true })
      assert.deepEqual(back.metadata, model.metadata)
      for (const fn of model.program.functions) {
        const other = back.program.functions.find((f) => f.name === fn.name)!
        const a = [...walkOps(fn.block)].map(
          (o) =>
            `${o.type} ${o.name} -> ${o.outputs.map((v) => `${v.name}:${typeToString(v.type)}`).join(',')}`,
        )
        const b = [...walkOps(other.block)].map(
          (o) =>
            `${o.type} ${o.name} -> ${o.outputs.map((v) => `${v.name}:${typeToString(v.type)}`).join(',')}`,
        )
        assert.deepEqual(b, a, `${name}/${fn.name}: same ops, names and types`)
        for (const op of walkOps(fn.block)) {
          if (op.type !== 'const') continue
          const twin = varsByName(other.block as never).get(op.outputs[0].name)!
          if (op.value!.type.dtype === 'string')
            assert.deepEqual(materialize(twin.constValue!), materialize(op.value!))
          else assert.deepEqual(dense(twin).values, dense(op.outputs[0]).values, `${op.name} value`)
        }
      }
      if (name === 'chunk') {
        // infer and prefill share both weight tensors: each is stored once.
        assert.equal(report.blobs, 2)
        assert.equal(report.sharedBlobs, 2)
      }
    }
  },
)

test('writing the same model twice gives byte-identical packages', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir)
      .flatMap((n) =>
        statSync(join(dir, n)).isDirectory() ? files(join(dir, n)).map((f) => join(n, f)) : [n],
      )
      .sort()
  const a = join(tmp, 'det-a.mlpackage')
  const b = join(tmp, 'det-b.mlpackage')
  writePackage(chunkModel(), a)
  writePackage(chunkModel(), b)
  assert.deepEqual(files(a), files(b))
  for (const f of files(a)) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f)
})

test('the writer leaves nothing behind when it fails', () => {
  const model = lutModel()
  // fp64 is not a CoreML I/O type: the description step throws after weights were written.
  const fn = model.program.functions[0]
  const bad = {
    ...model,
    program: {
      ...model.program,
      functions: [
        {
          ...fn,
          inputs: [
            {
              var: {
                ...fn.inputs[0].var,
                type: { kind: 'tensor', dtype: 'bool', shape: [1] },
              } as never,
            },
          ],
        },
      ],
    },
  }
  const path = join(tmp, 'fail.mlpackage')
  assert.throws(() => writePackage(bad, path), /not a CoreML input\/output type/)
  assert.deepEqual(
    readdirSync(tmp).filter((n) => n.includes('fail')),
    [],
  )
})

test('weights stay lazy until asked for', () => {
  const model = readPackage(join(FIXTURES, 'lut.mlpackage'))
  const consts = [...walkOps(model.program.functions[0].block)].filter(
    (o) => o.type === 'const' && isLazy(o.value!.data),
  )
  assert.ok(consts.length >= 4)
  const data = consts[0].value!.data
  assert.ok(isLazy(data))
  assert.ok(materialize(consts[0].value!) !== undefined)
})

test('streamed (chunked) weights are written piece by piece and read back whole', async () => {
  const { buildFunction, buildProgram } = await import('../../src/mil/builder.js')
  const { tensor } = await import('../../src/mil/types.js')
  const rows = 40
  const cols = 8
  const full = new Uint16Array(rows * cols).map((_, i) => 0x3c00 + (i % 977))
  let loads = 0
  const data = {
    lazy: true as const,
    key: 'streamed-test',
    load: () => {
      loads++
      return full
    },
    *chunks() {
      for (let r = 0; r < rows; r += 7) yield full.slice(r * cols, Math.min(rows, r + 7) * cols)
    },
  }
  const fn = buildFunction(
    { name: 'main', inputs: { ids: tensor('int32', [1, 2]) } },
    (b, { ids }) => ({
      out: b.gather(
        {
          x: b.const({ type: tensor('fp16', [rows, cols]), data }, 'table'),
          indices: ids,
          axis: 0,
        },
        'out',
      ),
    }),
  )
  const path = join(tmp, 'streamed.mlpackage')
  writePackage({ specVersion: 9, program: buildProgram([fn]), metadata: { userDefined: {} } }, path)
  assert.equal(loads, 0, 'load() was not needed')
  const back = readPackage(path)
  const table = varsByName(back.program.functions[0].block as never).get('table')!
  assert.deepEqual(materialize(table.constValue!), full)
})
