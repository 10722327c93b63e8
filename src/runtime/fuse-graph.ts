// The graph view fusion matchers share: who reads each var, which vars are outputs, constant
// values; and the shape helpers the matchers use.
import type { Operation, Var } from '../mil/program.js'
import type { Tensor } from './tensor.js'

export type ConstOf = (v: Var) => Tensor | undefined

export class Graph {
  constructor(
    readonly uses: Map<Var, Operation[]>,
    readonly outputs: Set<Var>,
    readonly constOf: ConstOf,
  ) {}

  /** The single op reading v, when v is an fp16 intermediate nothing else sees. */
  soleUser(v: Var, type: string): Operation | undefined {
    const u = this.uses.get(v)
    if (!u || u.length !== 1 || u[0].type !== type || this.outputs.has(v)) return undefined
    return fp16(v) ? u[0] : undefined
  }

  /** The other operand of a binary op whose operand `v` is one of x/y. */
  other(op: Operation, v: Var): Var | undefined {
    const { x, y } = op.inputs as { x?: Var; y?: Var }
    return x === v ? y : y === v ? x : undefined
  }

  /** True when every element of the const v is exactly c. */
  isConst(v: Var | undefined, c: number): boolean {
    const t = v && this.constOf(v)
    return !!t && t.data.length > 0 && Array.from(t.data as ArrayLike<number>).every((e) => e === c)
  }

  ints(v: Var | undefined): number[] | undefined {
    const t = v && this.constOf(v)
    return t ? Array.from(t.data as ArrayLike<number>, Number) : undefined
  }
}

export const shapeOf = (v: Var): number[] | undefined => {
  const t = v.type
  return t.kind === 'tensor' && t.shape.every((d) => typeof d === 'number')
    ? (t.shape as number[])
    : undefined
}
export const fp16 = (v: Var) => v.type.kind === 'tensor' && v.type.dtype === 'fp16' && !!shapeOf(v)
export const axisIn = (a: number, rank: number) => (a < 0 ? a + rank : a)
export const same = (a: readonly number[], b: readonly number[]) => a.join() === b.join()

export interface Match {
  readonly chain: Operation[]
  readonly last: Operation
  readonly fused: Operation
}

export function fused(type: string, last: Operation, inputs: Record<string, Var>): Operation {
  return { type, name: last.name, inputs, outputs: last.outputs, blocks: [], opaque: true }
}
