import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { formatFinding, lintPackages } from '../../convert/lint.js'
import { UsageError } from '../../util/errors.js'
import { parseFlags, type Command } from '../command.js'

const HELP = `Usage: anemll lint <dir | part.mlpackage ...> [--json]

Checks converted parts for the Neural Engine: weight file per part under the iOS (~1 GiB) and
macOS (~2 GiB) limits, tensor ranks (<= 4) and dimensions (<= 16384), fp32 ops that fall off the
ANE, run-time conv weights, CPU-only ops. Each finding names the part, function and op, and the
fix. Exits 1 when there are errors (warnings alone exit 0). 'anemll convert' runs this as its
last step.

Examples:
  anemll lint out/qwen3
  anemll lint out/qwen3/qwen_FFN_PF_lut4_chunk_01of02.mlpackage --json`

/** Packages named directly, or every .mlpackage inside a folder. */
export function packagesIn(paths: string[]): string[] {
  return paths.flatMap((p) => {
    if (!existsSync(p)) throw new UsageError(`${p}: no such file or folder`)
    if (p.replace(/\/+$/, '').endsWith('.mlpackage')) return [p]
    if (!statSync(p).isDirectory()) throw new UsageError(`${p}: expected a folder or an .mlpackage`)
    const found = readdirSync(p)
      .filter((f) => f.endsWith('.mlpackage'))
      .sort()
      .map((f) => join(p, f))
    if (!found.length) throw new UsageError(`${p}: no .mlpackage files in this folder`)
    return found
  })
}

export const lintCommand: Command = {
  name: 'lint',
  summary: 'check converted parts against the Neural Engine limits',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags('lint', {
      args: argv,
      options: { json: { type: 'boolean' } },
      allowPositionals: true,
    })
    if (!positionals.length)
      throw new UsageError("expected a folder or .mlpackage. See 'anemll lint --help'.")
    const pkgs = packagesIn(positionals)
    const findings = lintPackages(pkgs)
    if (values.json) console.log(JSON.stringify(findings, null, 2))
    else {
      for (const f of findings) console.log(formatFinding(f))
      const errors = findings.filter((f) => f.severity === 'error').length
      console.log(
        `${pkgs.length} part(s) checked: ${errors} error(s), ${findings.length - errors} warning(s)`,
      )
    }
    return findings.some((f) => f.severity === 'error') ? 1 : 0
  },
}
