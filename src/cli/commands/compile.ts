import { compilePackages } from '../../convert/compile.js'
import { UsageError } from '../../util/errors.js'
import { parseFlags, type Command } from '../command.js'
import { packagesIn } from './lint.js'

const HELP = `Usage: anemll compile <dir | part.mlpackage ...> [--output <dir>]

Compiles .mlpackage parts into the .mlmodelc folders ANEMLL's runtimes and apps load, with
Apple's 'xcrun coremlcompiler compile' (macOS only). 'anemll convert' does this itself on a Mac;
use this command to finish a conversion made on another machine.

Options:
  --output <dir>   where the .mlmodelc folders go (default: beside each package)`

export const compileCommand: Command = {
  name: 'compile',
  summary: 'compile .mlpackage parts to .mlmodelc on a Mac (xcrun coremlcompiler)',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags('compile', {
      args: argv,
      options: { output: { type: 'string' } },
      allowPositionals: true,
    })
    if (!positionals.length)
      throw new UsageError("expected a folder or .mlpackage. See 'anemll compile --help'.")
    const pkgs = packagesIn(positionals)
    if (process.platform !== 'darwin')
      throw new UsageError(
        "compiling needs Apple's coremlcompiler, which only exists on macOS: copy the folder to a Mac and run 'anemll compile' there",
      )
    for (const pkg of pkgs) {
      const out = values.output ?? pkg.replace(/\/[^/]+\/?$/, '')
      const r = await compilePackages([pkg], out)
      for (const o of r.outputs) console.log(`compiled ${o}`)
    }
    return 0
  },
}
