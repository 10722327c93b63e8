// Our .mlmodelc reader against coremltools: for each model that exists both as a package and
// compiled, coremltools reads the .mlpackage (test/oracle/dump_mil_ops.py) and we read the
// .mlmodelc. Ops, var names, types, BLOBFILE offsets, the raw blobs and the dequantized weights
// must agree. The DTLN-aec packages (TensorFlow-made: while_loop, list ops) are read by our
// package reader in strict mode and compared the same way.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { dense } from '../../src/mil/fold.js'
import { lookupOp } from '../../src/mil/ops/index.js'
import { printProgram } from '../../src/mil/print.js'
import {
  walkOps,
  type Block,
  type MilFunction,
  type Operation,
  type Var,
} from '../../src/mil/program.js'
import { OPSETS, typeToString } from '../../src/mil/types.js'
import { isLazy, materialize, PackedBits, type TensorValue } from '../../src/mil/value.js'
import { readCompiledModel } from '../../src/package/mlmodelc.js'
import { readPackage } from '../../src/package/read.js'
import { halfToFloat } from '../../src/util/fp16.js'
import { noPython, runPython } from '../oracle/python.js'

const SHARED = process.env.ANEMLL_SHARED ?? join(import.meta.dirname, '../../../shared')
const MODELS = join(SHARED, 'models/coreml')
const PAIRS = [
  'silero-vad-fp16/silero-vad-unified-v6.0.0',
  'silero-vad-lut4/unified_palette_4bit',
  'silero-vad-pruned-int8/unified_pruned_int8',
]
// Packages only: TensorFlow-made, with while_loop blocks that reuse names and list ops.
const PACKAGES = ['dtln-aec-128/DTLN_AEC_128_Part1', 'dtln-aec-128/DTLN_AEC_128_Part2']

interface OracleOp {
  type: string
  name: string
  outputs: { name: string; type: string }[]
  inputs: Record<string, (string | null)[]>
  blobs: Record<string, number>
  blocks: unknown[]
}
interface Oracle {
  specVersion: number
  defaultFunction: string
  functions: Record<
    string,
    { opset: string; inputs: { name: string; type: string }[]; outputs: string[]; ops: OracleOp[] }
  >
  blobs: Record<string, { dtype: string; values: number[] }>
  dense: Record<string, { dtype: string; shape: number[]; values: number[] }>
}

const blobOffset = (v: TensorValue | undefined) =>
  v && isLazy(v.data) ? v.data.blob?.offset : undefined

/** Our function in the shape of the proto coremltools reads (format doc §5.2–§5.4). */
function protoView(fn: MilFunction): OracleOp[] {
  const users = new Map<Var, Operation[]>()
  for (const op of walkOps(fn.block))
    for (const v of Object.values(op.inputs).flat()) users.set(v, [...(users.get(v) ?? []), op])
  // A const read only by constexpr ops is folded into them.
  const inlined = (v: Var) =>
    v.producer?.type === 'const' &&
    (users.get(v) ?? []).every((u) => u.type.startsWith('constexpr_'))
  const block = (b: Block): OracleOp[] =>
    b.operations
      .filter((op) => !(op.type === 'const' && inlined(op.outputs[0])))
      .map((op) => {
        const attrStyle = !!lookupOp(op.type, fn.opset)?.attributeStyle
        const inputs: Record<string, (string | null)[]> = {}
        const blobs: Record<string, number> = {}
        const off = blobOffset(op.value)
        if (off !== undefined) blobs.val = off
        for (const [param, bound] of Object.entries(op.inputs)) {
          const vars = [bound].flat()
          const off = blobOffset(vars[0].producer?.value)
          if (inlined(vars[0]) && off !== undefined) blobs[param] = off
          if (!attrStyle) inputs[param] = vars.map((v) => (inlined(v) ? null : v.name))
        }
        return {
          type: op.type,
          name: op.name,
          outputs: op.outputs.map((v) => ({ name: v.name, type: typeToString(v.type) })),
          inputs,
          blobs,
          blocks: op.blocks.map((nb) => ({
            inputs: nb.inputs.map((v) => ({ name: v.name, type: typeToString(v.type) })),
            ops: block(nb),
            outputs: nb.outputs.map((v) => v.name),
          })),
        }
      })
  return block(fn.block)
}

/** Stored elements as plain numbers: fp16 decoded, sub-byte unpacked (as coremltools reads them). */
function numbers(v: TensorValue): number[] {
  const d = materialize(v)
  if (d instanceof PackedBits) return Array.from({ length: d.length }, (_, i) => d.get(i))
  if (v.type.dtype === 'fp16') return Array.from(d as Uint16Array, halfToFloat)
  return Array.from(d as ArrayLike<number>, Number)
}

let dumps: Record<string, Oracle> | undefined
/** coremltools' view of every package, from one Python run (importing coremltools is slow). */
function oracleDumps(): Record<string, Oracle> {
  if (!dumps) {
    const run = runPython(
      'dump_mil_ops.py',
      [...PAIRS, ...PACKAGES].map((p) => join(MODELS, `${p}.mlpackage`)),
    )
    assert.equal(run.status, 0, run.stderr)
    dumps = JSON.parse(run.stdout) as Record<string, Oracle>
  }
  return dumps
}

/** Element-wise equality (deepEqual on 100k-element arrays is slow and its diff unreadable). */
function assertSame(got: number[], want: number[], what: string): void {
  assert.equal(got.length, want.length, `${what}: length`)
  const bad = got.findIndex((x, i) => !Object.is(x, want[i]))
  assert.equal(bad, -1, `${what}: element ${bad} is ${got[bad]}, expected ${want[bad]}`)
}

for (const pair of PAIRS) {
  test(
    `${pair}.mlmodelc reads as coremltools reads the .mlpackage`,
    { skip: noPython() },
    async () => {
      const pkg = join(MODELS, `${pair}.mlpackage`)
      const oracle = oracleDumps()[pkg]
      const model = await readCompiledModel(join(MODELS, `${pair}.mlmodelc`))
      assert.equal(model.specVersion, oracle.specVersion)
      assert.equal(model.program.defaultFunction, oracle.defaultFunction)
      assert.deepEqual(
        model.program.functions.map((f) => f.name),
        Object.keys(oracle.functions),
      )
      const values = new Map<number, TensorValue>()
      const outputs = new Map<string, Var>()
      for (const fn of model.program.functions) {
        const want = oracle.functions[fn.name]
        assert.equal(OPSETS[fn.opset].proto, want.opset)
        assert.deepEqual(
          fn.inputs.map((i) => ({ name: i.var.name, type: typeToString(i.var.type) })),
          want.inputs,
        )
        assert.deepEqual(
          fn.block.outputs.map((v) => v.name),
          want.outputs,
        )
        const ours = protoView(fn)
        assert.equal(ours.length, want.ops.length, 'op count')
        ours.forEach((op, i) => assert.deepEqual(op, want.ops[i], `op ${i} (${want.ops[i].name})`))
        for (const op of walkOps(fn.block)) {
          const off = blobOffset(op.value)
          if (off !== undefined) values.set(off, op.value!)
          for (const v of op.outputs) outputs.set(v.name, v)
        }
      }
      // Every blob, read lazily through our reader, holds what coremltools' BlobReader reads.
      assert.deepEqual(
        [...values.keys()].sort((a, b) => a - b),
        Object.keys(oracle.blobs)
          .map(Number)
          .sort((a, b) => a - b),
      )
      for (const [off, v] of values) {
        const want = oracle.blobs[String(off)]
        assert.equal(v.type.dtype, want.dtype)
        assertSame(numbers(v), want.values, `blob at ${off}`)
      }
      // Dequantized constexpr outputs equal coremltools' own decompression.
      for (const [name, want] of Object.entries(oracle.dense)) {
        const d = dense(outputs.get(name)!)
        assert.deepEqual(d.shape, want.shape, name)
        assertSame(Array.from(d.values), want.values, `${name} dequantized`)
      }
      // And our package reader sees the same program (the compiler only adds buildInfo keys).
      const fromPackage = readPackage(pkg)
      const strip = (p: typeof fromPackage.program) => printProgram({ ...p, buildInfo: {} })
      assert.equal(strip(model.program), strip(fromPackage.program))
    },
  )
}

for (const name of PACKAGES) {
  test(`${name}.mlpackage reads (strict) as coremltools reads it`, { skip: noPython() }, () => {
    const pkg = join(MODELS, `${name}.mlpackage`)
    const oracle = oracleDumps()[pkg]
    const model = readPackage(pkg, { strict: true })
    assert.equal(model.specVersion, oracle.specVersion)
    let loops = 0
    for (const fn of model.program.functions) {
      const want = oracle.functions[fn.name]
      assert.deepEqual(
        fn.inputs.map((i) => ({ name: i.var.name, type: typeToString(i.var.type) })),
        want.inputs,
      )
      const ours = protoView(fn)
      assert.equal(ours.length, want.ops.length, 'op count')
      ours.forEach((op, i) => assert.deepEqual(op, want.ops[i], `op ${i} (${want.ops[i].name})`))
      for (const op of walkOps(fn.block)) {
        assert.equal(op.opaque, undefined, `${op.type} '${op.name}' is known`)
        if (op.type !== 'while_loop') continue
        loops++
        // cond and body each name the loop vars; the loop's outputs have the loop vars' types.
        const [cond, body] = op.blocks
        assert.equal(cond.inputs[0].name, body.inputs[0].name)
        assert.equal(typeToString(cond.outputs[0].type), 'tensor<bool, []>')
        assert.deepEqual(
          op.outputs.map((v) => typeToString(v.type)),
          body.inputs.map((v) => typeToString(v.type)),
        )
      }
      for (const op of walkOps(fn.block)) {
        const off = blobOffset(op.value)
        if (off !== undefined)
          assertSame(numbers(op.value!), oracle.blobs[String(off)].values, `blob at ${off}`)
      }
    }
    assert.equal(loops, 2)
  })
}
