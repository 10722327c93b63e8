import { AnemllError } from '../util/errors.js'
import { VERSION } from '../version.js'
import type { Command } from './command.js'
import { chatCommand } from './commands/chat.js'
import { compileCommand } from './commands/compile.js'
import { convertCommand } from './commands/convert.js'
import { demoCommand } from './commands/demo.js'
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
  ].join('\n')
}

/** Closest command name by edit distance, for "did you mean". */
function suggest(name: string): string | undefined {
  const dist = (a: string, b: string): number => {
    const d = Array.from({ length: b.length + 1 }, (_, i) => i)
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0]
      d[0] = i
      for (let j = 1; j <= b.length; j++) {
        const tmp = d[j]
        d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
        prev = tmp
      }
    }
    return d[b.length]
  }
  const best = COMMANDS.map((c) => ({ c, d: dist(name, c.name) })).sort((x, y) => x.d - y.d)[0]
  return best && best.d <= 2 ? best.c.name : undefined
}

/** Entry point of the `anemll` binary; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv
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
    const s = suggest(verb)
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
