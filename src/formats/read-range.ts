import { closeSync, openSync, readSync } from 'node:fs'
import { FormatError } from '../util/errors.js'

// read(2) returns at most ~2 GiB per call, so large ranges are read in steps.
const STEP = 1 << 30

/**
 * Reads `length` bytes at `position` into `into` (or a new array), looping over short reads.
 * Throws FormatError naming `path` if the file ends first.
 */
export function readRange(
  path: string,
  fd: number,
  position: number,
  length: number,
  into: Uint8Array = new Uint8Array(length),
): Uint8Array {
  let got = 0
  while (got < length) {
    const r = readSync(fd, into, got, Math.min(STEP, length - got), position + got)
    if (r === 0) {
      throw new FormatError(
        path,
        `truncated: expected ${length} bytes at offset ${position}, got ${got}`,
      )
    }
    got += r
  }
  return into
}

/** Opens `path` for reading; a missing or unreadable file is a FormatError naming it. */
export function openForRead(path: string): number {
  try {
    return openSync(path, 'r')
  } catch (err) {
    throw new FormatError(path, `cannot open: ${(err as Error).message}`)
  }
}

/** Runs `fn` with a read-only descriptor for `path`, closing it afterwards. */
export function withFile<T>(path: string, fn: (fd: number) => T): T {
  const fd = openForRead(path)
  try {
    return fn(fd)
  } finally {
    closeSync(fd)
  }
}

/**
 * The first `n` floats of `out` when given (throws RangeError if it is too small), else a new
 * array. Lets tensor readers fill a caller's reusable buffer instead of allocating.
 */
export function floatsFor(n: number, out: Float32Array | undefined, what: string): Float32Array {
  if (!out) return new Float32Array(n)
  if (out.length < n)
    throw new RangeError(`${what} needs ${n} floats, the buffer given holds ${out.length}`)
  return out.subarray(0, n)
}

/** Checks that rows [start, end) lie inside a tensor of `rows` rows. */
export function checkRows(
  path: string,
  name: string,
  start: number,
  end: number,
  rows: number,
): void {
  if (!(
    Number.isInteger(start) &&
    Number.isInteger(end) &&
    start >= 0 &&
    start <= end &&
    end <= rows
  ))
    throw new FormatError(path, `tensor '${name}': rows ${start}..${end} outside its ${rows} rows`)
}
