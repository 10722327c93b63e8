import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError } from '../util/errors.js'
import { suggest } from '../util/suggest.js'

/** One CLI verb. `help` is the full text printed by `anemll <name> --help`. */
export interface Command {
  name: string
  summary: string
  help: string
  run(argv: string[]): Promise<number>
}

const NUMBER = /^-(\d|\.\d)/

/**
 * An integer flag value ≥ `min`, or a one-line UsageError naming the flag; undefined when the
 * flag was not given.
 */
export function intFlag(flag: string, v: string, min: number): number
export function intFlag(flag: string, v: string | undefined, min: number): number | undefined
export function intFlag(flag: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (v.trim() === '' || !Number.isInteger(n) || n < min)
    throw new UsageError(`--${flag} must be an integer >= ${min}, got '${v}'`)
  return n
}

/**
 * Strict flag parsing with our own one-line UsageErrors (did-you-mean for unknown flags). A
 * negative number after a flag that takes a value is that flag's value (`--chunk -1`), so the
 * flag's own range check can say what is wrong with it.
 * @example parseFlags('inspect', { args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true })
 */
export function parseFlags<C extends ParseArgsConfig>(
  command: string,
  config: C,
): ReturnType<typeof parseArgs<C>> {
  const options = config.options ?? {}
  const takesValue = (arg: string) =>
    arg.startsWith('--') && options[arg.slice(2)]?.type === 'string'
  const args = [...(config.args ?? [])]
  for (let i = 0; i + 1 < args.length; i++)
    if (takesValue(args[i]) && NUMBER.test(args[i + 1]))
      args.splice(i, 2, `${args[i]}=${args[i + 1]}`)
  try {
    return parseArgs<C>({ ...config, args }) // strict is node's default
  } catch (err) {
    const problem = flagProblem(err, Object.keys(options))
    throw new UsageError(
      `${problem}${problem.endsWith('?') ? '' : '.'} See 'anemll ${command} --help'.`,
    )
  }
}

/** node's parse error in our words: which flag, and what to do. */
function flagProblem(err: unknown, names: string[]): string {
  const e = err as { code?: string; message?: string }
  const msg = String(e.message ?? err)
  const flag = /'(-[^' ]+)/.exec(msg)?.[1] ?? ''
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const s = flag.startsWith('--') ? suggest(flag.slice(2), names) : undefined
    return `unknown flag '${flag}'${s ? `. Did you mean '--${s}'?` : ''}`
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/argument missing/.test(msg)) return `${flag} needs a value`
    if (/does not take an argument/.test(msg)) return `${flag} takes no value`
    if (/ambiguous/.test(msg))
      return `${flag} needs a value; to give one that starts with '-', write ${flag}=<value>`
  }
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
    return `unexpected argument ${/'([^']+)'/.exec(msg)?.[0] ?? ''}`.trim()
  return msg.split('\n')[0].replace(/\.$/, '')
}
