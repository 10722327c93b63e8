// State ops (format doc §6.22, §6.23, §5.5). coreml_update_state exists only in the builder: the
// proto writer lowers it to write_state + read_state and the reader merges that pair back.
import { defineOp, type InferCtx } from '../op-spec.js'
import { typeToString, type TensorType } from '../types.js'

const STATE_DTYPES = ['fp16', 'fp32', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'bool'] as const

function wrapped(c: InferCtx): TensorType {
  const s = c.var('input').type
  if (s.kind !== 'state')
    return c.fail(`input '${c.var('input').name}' must be a state, got ${typeToString(s)}`)
  return s.wrapped
}

function checkData(c: InferCtx, p: string): TensorType {
  const w = wrapped(c)
  const t = c.tensor(p)
  if (typeToString(t) !== typeToString(w))
    return c.fail(`${p} ${typeToString(t)} must have the state's type ${typeToString(w)}`)
  return w
}

export const read_state = defineOp({
  type: 'read_state',
  since: 'ios18',
  domains: { S: STATE_DTYPES },
  inputs: { input: { domain: 'S', state: true } },
  infer: (c) => [wrapped(c)],
})

export const write_state = defineOp({
  type: 'write_state',
  since: 'ios18',
  noOutput: true,
  domains: { S: STATE_DTYPES },
  inputs: { input: { domain: 'S', state: true }, data: { domain: 'S' } },
  infer: (c) => {
    checkData(c, 'data')
    return []
  },
})

export const coreml_update_state = defineOp({
  type: 'coreml_update_state',
  since: 'ios18',
  dialect: true,
  domains: { S: STATE_DTYPES },
  inputs: { state: { domain: 'S', state: true }, value: { domain: 'S' } },
  infer: (c: InferCtx) => {
    const s = c.var('state').type
    if (s.kind !== 'state') return c.fail(`state '${c.var('state').name}' must be a state var`)
    const t = c.tensor('value')
    if (typeToString(t) !== typeToString(s.wrapped))
      return c.fail(
        `value ${typeToString(t)} must have the state's type ${typeToString(s.wrapped)}`,
      )
    return [s.wrapped]
  },
})
