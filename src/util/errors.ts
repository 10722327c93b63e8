/** Base class of every error anemll throws on purpose; the CLI prints `message` alone, on one line. */
export class AnemllError extends Error {
  override name = 'AnemllError'
}

/** A file we read (or were asked to write) is malformed: names the file and what is wrong. */
export class FormatError extends AnemllError {
  override name = 'FormatError'
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    // Problems may quote the file (JSON.parse does): keep the message on one line.
    super(`${file}: ${problem.replace(/\s*[\r\n]+\s*/g, ' ')}`)
  }
}

/** A model program lacks what is asked of it (a function, a tensor where a state is). */
export class ProgramError extends AnemllError {
  override name = 'ProgramError'
}

/** A command-line flag or API option has a bad value: names the flag and how to fix it. */
export class UsageError extends AnemllError {
  override name = 'UsageError'
}

/** Internal invariant; a failure is a bug in anemll, not bad input. */
export function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`internal error: ${msg}`)
}
