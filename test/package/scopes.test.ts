// Var scopes of the package reader: a block's inputs and ops are visible inside it only, so the
// cond and body blocks of DTLN-aec's while_loops may both name the loop vars; a name defined twice
// where both are visible is still an error.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeModel, encodeModel } from '../../src/formats/proto/index.js'
import { readPackage } from '../../src/package/read.js'
import { FormatError } from '../../src/util/errors.js'
import { SHARED } from '../fixtures/paths.js'

const DTLN = join(SHARED, 'models/coreml/dtln-aec-128/DTLN_AEC_128_Part1.mlpackage')
const tmp = mkdtempSync(join(tmpdir(), 'anemll-scopes-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

/** A copy of DTLN-aec Part1 whose first while_loop's body block is edited. */
function withBody(
  name: string,
  edit: (body: {
    inputs: { name: string }[]
    operations: { outputs: { name: string }[] }[]
  }) => void,
): string {
  const pkg = join(tmp, `${name}.mlpackage`)
  cpSync(DTLN, pkg, { recursive: true })
  const file = join(pkg, 'Data/com.apple.CoreML/model.mlmodel')
  const model = decodeModel(readFileSync(file), file)
  if (model.Type.case !== 'mlProgram') throw new Error('not an ML program')
  const ops = model.Type.value.functions.main.blockSpecializations.CoreML6.operations
  edit(ops.find((o) => o.type === 'while_loop')!.blocks[1])
  writeFileSync(file, encodeModel(model))
  return pkg
}

const twice = (pkg: string, name: RegExp) =>
  assert.throws(
    () => readPackage(pkg),
    (e: Error) =>
      e instanceof FormatError && name.test(e.message) && /is defined twice/.test(e.message),
  )

test('sibling blocks reuse names; a name defined twice within reach is an error', () => {
  assert.ok(readPackage(DTLN, { strict: true }))
  // An op of the body named like the body's own input.
  twice(
    withBody('same-block', (b) => void (b.operations[0].outputs[0].name = b.inputs[0].name)),
    /var 'DTLN_AEC_Part1_lstm_1_0_PartitionedCall_time_x0_1_1'/,
  )
  // A body input named like a var of the enclosing function.
  twice(
    withBody('shadow', (b) => void (b.inputs[0].name = 'mic_magnitude')),
    /var 'mic_magnitude'/,
  )
})
