// ANE fitness check (`anemll lint`, and the last step of every conversion). Each rule is a row:
// what it looks at, why the Neural Engine cares, and how to fix it. Findings name the part,
// function and op.
import { statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { walkOps, type MilFunction, type Operation, type Var } from '../mil/program.js'
import { shapeToString, typeToString } from '../mil/types.js'
import { readPackage } from '../package/read.js'
import { FormatError } from '../util/errors.js'

export interface LintFinding {
  severity: 'error' | 'warning'
  rule: string
  part: string
  function?: string
  op?: string
  message: string
  fix: string
}

/** ANE limits used as design rules (contract §7): rank ≤ 4, every dim ≤ 16384, per-file weight size. */
export const ANE_LIMITS = {
  rank: 4,
  dim: 16384,
  iosWeightBytes: 1024 ** 3,
  macosWeightBytes: 2 * 1024 ** 3,
}

/** Ops the ANE never runs: a model using them is split between ANE and CPU on every call. */
const CPU_ONLY_OPS: Record<string, string> = {
  while_loop: 'control flow runs on the CPU',
  cond: 'control flow runs on the CPU',
  topk: 'top-k runs on the CPU; sample on the host instead',
}

interface Ctx {
  part: string
  fn: MilFunction
  report: (f: Omit<LintFinding, 'part' | 'function'>) => void
}

const isConstLike = (op: Operation) => op.type === 'const' || op.type.startsWith('constexpr_')

type Rule = (c: Ctx, op: Operation, out: Var) => void

const RULES: Record<string, Rule> = {
  rank(c, op, out) {
    if (out.type.kind === 'tensor' && out.type.shape.length > ANE_LIMITS.rank)
      c.report({
        severity: 'error',
        rule: 'rank',
        op: out.name,
        message: `${op.type} output ${typeToString(out.type)} has rank ${out.type.shape.length}; the ANE handles rank ≤ ${ANE_LIMITS.rank}`,
        fix: 'fold the extra dimension into a neighbour with reshape',
      })
  },
  dimension(c, op, out) {
    if (out.type.kind !== 'tensor') return
    const big = out.type.shape.find((d) => typeof d === 'number' && d > ANE_LIMITS.dim)
    if (big !== undefined && op.type !== 'gather')
      c.report({
        severity: 'error',
        rule: 'dimension',
        op: out.name,
        message: `${op.type} output ${shapeToString(out.type.shape)} has a dimension of ${big} > ${ANE_LIMITS.dim}`,
        fix: 'split the tensor (e.g. more LM-head splits) or lower --context',
      })
  },
  dynamicShape(c, op, out) {
    if (out.type.kind === 'tensor' && out.type.shape.some((d) => typeof d !== 'number'))
      c.report({
        severity: 'warning',
        rule: 'dynamic-shape',
        op: out.name,
        message: `${op.type} output ${shapeToString(out.type.shape)} has a shape known only at run time`,
        fix: 'use enumerated input shapes so every op has a fixed shape',
      })
  },
  fp32(c, op, out) {
    if (out.type.kind === 'tensor' && out.type.dtype === 'fp32')
      c.report({
        severity: 'warning',
        rule: 'fp32',
        op: out.name,
        message: `${op.type} computes in fp32; the ANE computes in fp16, so this op runs on the GPU or CPU`,
        fix: 'cast inputs to fp16 (convert weights and activations to fp16)',
      })
  },
  cpuOnly(c, op) {
    const why = CPU_ONLY_OPS[op.type]
    if (why)
      c.report({
        severity: 'warning',
        rule: 'cpu-op',
        op: op.name,
        message: `${op.type}: ${why}`,
        fix: 'remove the op from the model graph',
      })
  },
  constWeights(c, op) {
    if (op.type !== 'conv') return
    const w = op.inputs.weight as Var
    if (!w.producer || !isConstLike(w.producer))
      c.report({
        severity: 'error',
        rule: 'conv-weight',
        op: op.name,
        message: `conv '${op.name}' takes its weight '${w.name}' at run time; the ANE needs constant conv weights`,
        fix: 'make the weight a const (or a constexpr LUT of consts)',
      })
  },
}

export function lintFunction(part: string, fn: MilFunction): LintFinding[] {
  const out: LintFinding[] = []
  const c: Ctx = { part, fn, report: (f) => out.push({ part, function: fn.name, ...f }) }
  // Enumerated input shapes are compiled once per shape, so symbolic dims are fixed per call.
  const enumerated = fn.inputs.some((i) => i.flexibility?.kind === 'enumerated')
  for (const op of walkOps(fn.block)) {
    if (isConstLike(op)) continue
    for (const [id, rule] of Object.entries(RULES)) {
      if (enumerated && id === 'dynamicShape') continue
      if (op.outputs.length === 0) rule(c, op, op.inputs.data as Var)
      for (const v of op.outputs) rule(c, op, v)
    }
  }
  // One finding per rule and op is enough (multi-output ops report once).
  return out.filter(
    (f, i) =>
      out.findIndex((g) => g.rule === f.rule && g.op === f.op && g.function === f.function) === i,
  )
}

// ANEMLL's chunk file names (<prefix>_FFN[_PF][_lutN]_chunk_NNofMM): each must hold layers.
const CHUNK_PART = /_chunk_\d+of\d+\.(mlpackage|mlmodelc)$/
const LAYER_OPS = new Set(['conv', 'linear', 'matmul'])
const hasLayers = (fn: MilFunction) => [...walkOps(fn.block)].some((op) => LAYER_OPS.has(op.type))

/** Checks each package: weight-file size against the iOS and macOS limits, then every op. */
export function lintPackages(paths: string[]): LintFinding[] {
  const findings: LintFinding[] = []
  for (const path of paths) {
    const part = basename(path)
    let size = 0
    try {
      size = statSync(join(path, 'Data/com.apple.CoreML/weights/weight.bin')).size
    } catch {
      // a part without weights
    }
    const mb = (n: number) => `${(n / 1024 ** 2).toFixed(0)} MiB`
    if (size > ANE_LIMITS.macosWeightBytes)
      findings.push({
        severity: 'error',
        rule: 'weight-size',
        part,
        message: `weights are ${mb(size)}, over macOS's ~2 GiB per-model limit`,
        fix: 'use more chunks (--chunk N or --chunk auto) or a lower LUT',
      })
    else if (size > ANE_LIMITS.iosWeightBytes)
      findings.push({
        severity: 'warning',
        rule: 'weight-size',
        part,
        message: `weights are ${mb(size)}, over iOS's ~1 GiB per-model limit (fine on macOS)`,
        fix: 'for iOS use more chunks (--chunk auto --max-chunk-mb 950)',
      })
    let model
    try {
      model = readPackage(path)
    } catch (e) {
      // A damaged part (e.g. weight.bin truncated, empty or missing) is a finding; lint goes on.
      if (!(e instanceof FormatError)) throw e
      findings.push({
        severity: 'error',
        rule: 'unreadable',
        part,
        message: e.message,
        fix: 'convert this part again (its files are damaged or incomplete)',
      })
      continue
    }
    if (CHUNK_PART.test(part) && !model.program.functions.some(hasLayers))
      findings.push({
        severity: 'error',
        rule: 'empty-chunk',
        part,
        message: 'this transformer chunk holds no layers (no conv, linear or matmul op)',
        fix: 'convert again with --chunk at most the number of layers',
      })
    for (const fn of model.program.functions) findings.push(...lintFunction(part, fn))
  }
  return findings
}

export function formatFinding(f: LintFinding): string {
  const where = [f.part, f.function, f.op].filter(Boolean).join(' › ')
  return `${f.severity === 'error' ? 'error  ' : 'warning'} ${where}: ${f.message} — fix: ${f.fix}`
}
