// State ops (format doc §6.22, §6.23). A state's tensor lives in the State object; read_state
// copies it unless the planner proved no write to that state happens while the result is in use,
// and write_state skips the copy when slice_update already wrote into the state's own buffer.
import type { Kernel } from '../kernel.js'
import { shapeText } from '../tensor.js'
import { noteJsWork } from '../native.js'

const read_state: Kernel = (k) => {
  const s = k.state('input')
  if (k.inPlace) return [s]
  noteJsWork()
  const out = k.alloc(s.dtype, s.shape)
  out.data.set(s.data)
  return [out]
}

function write(k: Parameters<Kernel>[0], param: string, dataParam: string) {
  const s = k.state(param)
  const d = k.in(dataParam)
  if (d.data.length !== s.data.length || d.shape.join() !== s.shape.join())
    k.fail(`${dataParam} ${shapeText(d.shape)} does not match the state ${shapeText(s.shape)}`)
  if (d.data !== s.data) {
    noteJsWork()
    s.data.set(d.data)
  }
  return d
}

const write_state: Kernel = (k) => {
  write(k, 'input', 'data')
  return []
}

/** write_state + read_state in one: the result is the value just written. */
const coreml_update_state: Kernel = (k) => [write(k, 'state', 'value')]

/** read_state, write_state, coreml_update_state. */
export const STATE: Record<string, Kernel> = { read_state, write_state, coreml_update_state }
