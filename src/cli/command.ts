import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError } from '../util/errors.js'

/** One CLI verb. `help` is the full text printed by `anemll <name> --help`. */
export interface Command {
  name: string
  summary: string
  help: string
  run(argv: string[]): Promise<number>
}

/**
 * Strict flag parsing that turns node's parse errors into one-line UsageErrors.
 * @example parseFlags('inspect', { args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true })
 */
export function parseFlags<C extends ParseArgsConfig>(
  command: string,
  config: C,
): ReturnType<typeof parseArgs<C>> {
  try {
    return parseArgs<C>(config) // strict is node's default
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw new UsageError(`${msg}. See 'anemll ${command} --help'.`)
  }
}
