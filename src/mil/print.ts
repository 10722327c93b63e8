// Program → MIL text in the syntax of a compiled model's `model.mil` (format doc §8.2), current
// printer style: `program(1.3)`, scalars as `fp16(0x1p-4)`, parameters and attributes sorted.
// The text holds what the proto holds: consts used only by constexpr ops are inlined into them,
// iOS16-style constexprs carry their parameters as attributes, and coreml_update_state is the
// write_state + read_state pair (§5.4, §5.5). parse.ts reads it back.
import { lookupOp } from './ops/index.js'
import {
  isConstexprType,
  walkOps,
  type Block,
  type MilFunction,
  type Operation,
  type Program,
  type Var,
} from './program.js'
import { flexibilityText, buildInfoText } from './text-attrs.js'
import { literalText, quote, typeText } from './text-values.js'
import { OPSETS } from './types.js'
import { isLazy, materialize, type TensorValue } from './value.js'

export const DEFAULT_WEIGHT_PATH = '@model_path/weights/weight.bin'

export interface PrintOptions {
  /** Consts stored in the weight file, by value: printed as BLOBFILE references at these offsets. */
  readonly blobOffsets?: Map<TensorValue, number>
  /** Path written in BLOBFILE references for `blobOffsets` (default @model_path/weights/weight.bin). */
  readonly weightPath?: string
  /** Printer version in `program(...)`; default 1.3. */
  readonly version?: string
}

/**
 * Prints a program as MIL text. Values with a blob location (from `blobOffsets`, else the
 * `blob` of lazy data read from a weight file) are printed as BLOBFILE references, others inline.
 * @example printProgram(program, { blobOffsets }) // 'program(1.3)\n[buildInfo = ...]\n{\n    func main<ios18>(...'
 */
export function printProgram(program: Program, opts: PrintOptions = {}): string {
  const lines = [`program(${opts.version ?? '1.3'})`]
  const info = buildInfoText(program.buildInfo)
  if (info) lines.push(info)
  lines.push('{')
  for (const fn of program.functions) new FunctionPrinter(fn, opts, lines).print()
  lines.push('}')
  return lines.join('\n') + '\n'
}

class FunctionPrinter {
  /** Ops reading each var, and vars that are some block's output. */
  readonly #consumers = new Map<Var, Operation[]>()
  readonly #blockOutputs = new Set<Var>()

  constructor(
    readonly fn: MilFunction,
    readonly opts: PrintOptions,
    readonly lines: string[],
  ) {
    const noteBlock = (b: Block) => b.outputs.forEach((v) => this.#blockOutputs.add(v))
    noteBlock(fn.block)
    for (const op of walkOps(fn.block)) {
      for (const v of Object.values(op.inputs).flat()) {
        const list = this.#consumers.get(v) ?? []
        list.push(op)
        this.#consumers.set(v, list)
      }
      op.blocks.forEach(noteBlock)
    }
  }

  print(): void {
    const { fn } = this
    const params = fn.inputs.map((i) => `${typeText(i.var.type)} ${i.var.name}`).join(', ')
    const flex = flexibilityText(fn.inputs.map((i) => ({ ...i, name: i.var.name })))
    this.lines.push(`    func ${fn.name}<${fn.opset}>(${params})${flex ? ' ' + flex : ''} {`)
    this.body(fn.block, 12)
  }

  /** Statements at `indent`, then `} -> (outputs)` four spaces left of them. */
  body(block: Block, indent: number, close = ';'): void {
    for (const op of block.operations) this.op(op, ' '.repeat(indent))
    const outs = block.outputs.map((v) => v.name).join(', ')
    this.lines.push(`${' '.repeat(indent - 4)}} -> (${outs})${close}`)
  }

  op(op: Operation, pad: string): void {
    if (op.type === 'const') {
      if (this.inlined(op)) return
      const out = op.outputs[0]
      this.lines.push(
        `${pad}${typeText(out.type)} ${out.name} = const()[name = ${str(op.name)}, val = ${this.value(op.value!)}];`,
      )
      return
    }
    if (op.type === 'coreml_update_state') return this.stateUpdate(op, pad)
    const constexpr = isConstexprType(op.type)
    const spec = lookupOp(op.type, this.fn.opset)
    // Opaque constexprs follow the rule of their era: attributes before the iOS18 opset.
    const attrStyle = spec
      ? !!spec.attributeStyle
      : constexpr && OPSETS[this.fn.opset].order < OPSETS.ios18.order
    const args: string[] = []
    const attrs: string[] = [`name = ${str(op.name)}`]
    for (const [param, bound] of Object.entries(op.inputs)) {
      if (Array.isArray(bound)) {
        args.push(`${param} = (${bound.map((v) => this.ref(v, constexpr)).join(', ')})`)
      } else if (attrStyle && (bound as Var).producer?.type === 'const') {
        attrs.push(`${param} = ${this.value((bound as Var).producer!.value!)}`)
      } else args.push(`${param} = ${this.ref(bound as Var, constexpr)}`)
    }
    const outs = op.outputs.map((v) => `${typeText(v.type)} ${v.name}`).join(', ')
    const head = `${pad}${outs ? outs + ' = ' : ''}${op.type}(${args.sort().join(', ')})[${attrs.sort().join(', ')}]`
    if (op.blocks.length === 0) {
      this.lines.push(head + ';')
      return
    }
    this.lines.push(head)
    op.blocks.forEach((b, i) => {
      const params = b.inputs.map((v) => `${typeText(v.type)} ${v.name}`).join(', ')
      this.lines.push(`${pad}    (${params}) {`)
      this.body(b, pad.length + 12, i === op.blocks.length - 1 ? ';' : '')
    })
  }

  /** coreml_update_state as stored: write_state, then read_state when the result is used. */
  stateUpdate(op: Operation, pad: string): void {
    const s = op.inputs.state as Var
    const v = op.inputs.value as Var
    this.lines.push(
      `${pad}write_state(data = ${v.name}, input = ${s.name})[name = ${str(op.name + '_write_state')}];`,
    )
    const out = op.outputs[0]
    if (out && (this.#consumers.has(out) || this.#blockOutputs.has(out)))
      this.lines.push(
        `${pad}${typeText(out.type)} ${out.name} = read_state(input = ${s.name})[name = ${str(op.name)}];`,
      )
  }

  /** A const read only by constexpr ops is not a statement: its value is written into them. */
  inlined(op: Operation): boolean {
    const v = op.outputs[0]
    const users = this.#consumers.get(v)
    return !!users && !this.#blockOutputs.has(v) && users.every((u) => isConstexprType(u.type))
  }

  ref(v: Var, inConstexpr: boolean): string {
    const p = v.producer
    return inConstexpr && p?.type === 'const' && this.inlined(p) ? this.value(p.value!) : v.name
  }

  value(v: TensorValue): string {
    const offset = this.opts.blobOffsets?.get(v)
    const at =
      offset !== undefined
        ? { path: this.opts.weightPath ?? DEFAULT_WEIGHT_PATH, offset }
        : isLazy(v.data)
          ? v.data.blob
          : undefined
    if (!at) return literalText(v.type, materialize(v))
    const path = at.path.startsWith(MODEL_PATH) ? at.path : blobPathInModel(at.path)
    return `${typeText(v.type)}(BLOBFILE(path = ${str(path)}, offset = uint64(${at.offset})))`
  }
}

const MODEL_PATH = '@model_path/'
/** Readers record the weight file's path on disk; in a model it is `weights/<file name>`. */
const blobPathInModel = (path: string) => `${MODEL_PATH}weights/${path.split(/[\\/]/).pop()}`

const str = (s: string) => `string(${quote(s)})`
