import { AnemllError } from '../util/errors.js'
import { envHelp } from '../util/env.js'
import { suggest } from '../util/suggest.js'
import { VERSION } from '../version.js'
import type { Command } from './command.js'
import { chatCommand } from './commands/chat.js'
import { compileCommand } from './commands/compile.js'
import { convertCommand } from './commands/convert.js'
import { demoCommand } from './commands/demo.js'
import { evalCommand } from './commands/eval.js'
import { inspectCommand } from './commands/inspect.js'
import { lintCommand } from './commands/lint.js'
import { runCommand } from './commands/run.js'
import { serveCommand } from './commands/serve.js'
import { showCommand } from './commands/show.js'
import { tokenizeCommand } from './commands/tokenize.js'

/** The verb table: one line per command, each implemented in commands/<verb>.ts. */
const COMMANDS: Command[] = [
  convertCommand,
  inspectCommand,
  lintCommand,
  compileCommand,
  showCommand,
  tokenizeCommand,
  runCommand,
  chatCommand,
  evalCommand,
  demoCommand,
  serveCommand,
  // one entry per verb
]

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
  return [
    `anemll ${VERSION} — LLMs on the Apple Neural Engine, from TypeScript`,
    '',
    'Usage: anemll <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run 'anemll <command> --help' for a command's options.",
    '',
    'Environment:',
    envHelp(),
  ].join('\n')
}

/** Entry point of the `anemll` binary; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv
  if (verb === 'help' && rest.length) return main([rest[0], '--help'])
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    console.log(usage())
    return verb ? 0 : 1
  }
  if (verb === '--version' || verb === '-v') {
    console.log(VERSION)
    return 0
  }
  const cmd = COMMANDS.find((c) => c.name === verb)
  if (!cmd) {
    const s = suggest(
      verb,
      COMMANDS.map((c) => c.name),
    )
    console.error(
      `anemll: unknown command '${verb}'.${s ? ` Did you mean '${s}'?` : ''} See 'anemll --help'.`,
    )
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.help)
    return 0
  }
  try {
    return await cmd.run(rest)
  } catch (err) {
    if (err instanceof AnemllError) {
      console.error(`anemll ${cmd.name}: ${err.message}`)
      return 1
    }
    throw err
  }
}
