// The kernel table against the op table (src/mil/ops): every executable op has a row, and what a
// row says of an op's params names params the op really has.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { OpSpec } from '../../mil/op-spec.js'
import { lookupOp, OPS } from '../../mil/ops/index.js'
import { isConstexprType } from '../../mil/program.js'
import { KERNEL_TABLE, kernelRow } from './index.js'

test('every op of the op table but the constexpr ones has a kernel row', () => {
  const missing = (Object.values(OPS) as OpSpec[])
    .filter((spec) => !spec.constexpr && !kernelRow(spec.type))
    .map((spec) => spec.type)
  assert.deepEqual(missing, [])
})

test("the op table's constexpr flags agree with MIL's naming rule (isConstexprType)", () => {
  for (const spec of Object.values(OPS) as OpSpec[])
    assert.equal(!!spec.constexpr, isConstexprType(spec.type), spec.type)
})

test('opaque rows are outside the op table, other rows inside (fused rows are the planner’s)', () => {
  for (const [type, row] of Object.entries(KERNEL_TABLE)) {
    const spec = lookupOp(type)
    if (row.fused) assert.ok(type.startsWith('anemll.') && !spec, type)
    else if (row.opaque) assert.equal(spec, undefined, `${type} is in the op table`)
    else assert.ok(spec, `${type} has a row but no op spec`)
  }
})

test("view and native-runtime params, and state rows, match the ops' declared inputs", () => {
  for (const [type, row] of Object.entries(KERNEL_TABLE)) {
    const spec = lookupOp(type)
    if (!spec) continue
    for (const p of [...(row.view ?? []), ...(row.native?.runtime ?? [])])
      assert.ok(Object.hasOwn(spec.inputs, p), `${type}: no input '${p}'`)
    const touchesState = Object.values(spec.inputs).some((d) => d.state)
    assert.equal(!!row.state, touchesState, `${type}: state row vs state input`)
    if (row.state === 'write') assert.ok(row.exact, `${type}: a state write moves data`)
  }
})
