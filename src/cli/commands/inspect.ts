import { printProgram } from '../../mil/print.js'
import { openModel } from '../../package/open.js'
import { summarize, type ModelSummary, type WeightStat } from '../../package/summary.js'
import type { TensorSig } from '../../package/signature.js'
import { UsageError } from '../../util/errors.js'
import { table } from '../../util/format.js'
import { formatBytes } from '../../util/progress.js'
import { parseFlags, type Command } from '../command.js'

const HELP = `Usage: anemll inspect <model.mlpackage | model.mlmodelc> [--mil] [--json] [--strict]

Shows what is inside a CoreML ML Program: its functions with their inputs, outputs and states
(shapes and dtypes), the ops each function uses, the weight bytes by dtype and by compression
(dense, lut4, lut6, ...), and the model's metadata. Works on packages written by anemll, by
coremltools, and on compiled .mlmodelc folders (as published with pre-converted models).

Options:
  --mil      print the program as MIL text (the syntax of a compiled model's model.mil)
  --json     print the summary as one JSON object, for scripts
  --strict   fail on ops anemll does not know instead of listing them as opaque

Examples:
  anemll inspect out/llama_FFN_PF_lut4_chunk_01of02.mlpackage
  anemll inspect model.mlmodelc --mil | less`

const sig = (t: TensorSig) => [t.name, t.dtype, `[${t.shape.map((d) => d ?? '?').join(', ')}]`]

const stats = (s: Record<string, WeightStat>) =>
  Object.entries(s)
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .map(([k, v]) => `${k} ${formatBytes(v.bytes)} (${v.tensors})`)
    .join(' · ')

export function renderSummary(path: string, s: ModelSummary): string {
  const fnames = Object.keys(s.functions)
  const out = [
    `${path}`,
    `  ML Program · spec ${s.specVersion} · ${s.opset} · ${fnames.length} function${fnames.length > 1 ? 's' : ''}` +
      (fnames.length > 1 ? ` · default '${s.defaultFunction}'` : ''),
  ]
  for (const [name, f] of Object.entries(s.functions)) {
    out.push('', `function ${name}`)
    const rows: string[][] = []
    const section = (label: string, list: TensorSig[]) =>
      list.forEach((t, i) => rows.push([i === 0 ? label : '', ...sig(t)]))
    section('inputs', f.inputs)
    section('states', f.states)
    section('outputs', f.outputs)
    out.push(table(rows, '  '))
    const total = Object.values(f.ops).reduce((a, b) => a + b, 0)
    const hist = Object.entries(f.ops)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')
    out.push(`  ops      ${total}: ${hist}`)
    if (f.opaqueOps.length)
      out.push(`  unknown  ${f.opaqueOps.join(', ')} (kept as declared; not executable by anemll)`)
  }
  const bytes = Object.values(s.weightsByDtype).reduce((a, b) => a + b.bytes, 0)
  const tensors = Object.values(s.weightsByDtype).reduce((a, b) => a + b.tensors, 0)
  out.push('', `weights  ${formatBytes(bytes)} in ${tensors} constants`)
  if (tensors)
    out.push(
      `  by dtype        ${stats(s.weightsByDtype)}`,
      `  by compression  ${stats(s.weightsByCompression)}`,
    )
  const m = s.metadata
  const meta = [
    ...(['shortDescription', 'version', 'author', 'license'] as const)
      .filter((k) => m[k])
      .map((k) => [k, String(m[k])]),
    ...Object.entries(m.userDefined).sort(),
  ]
  if (meta.length) out.push('', 'metadata', table(meta, '  '))
  return out.join('\n')
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show the functions, I/O, ops, weights and metadata of a .mlpackage or .mlmodelc',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags('inspect', {
      args: argv,
      options: { mil: { type: 'boolean' }, json: { type: 'boolean' }, strict: { type: 'boolean' } },
      allowPositionals: true,
    })
    if (positionals.length !== 1)
      throw new UsageError("expected one model path. See 'anemll inspect --help'.")
    const path = positionals[0]
    const model = await openModel(path, { strict: values.strict })
    if (values.mil) {
      process.stdout.write(printProgram(model.program))
      return 0
    }
    const summary = summarize(model)
    console.log(
      values.json ? JSON.stringify({ path, ...summary }, null, 2) : renderSummary(path, summary),
    )
    return 0
  },
}
