// What a conversion may remove from its output folder: only what anemll made there. That is the
// temp names of interrupted writes (whose process is gone) and the parts an earlier conversion
// recorded in .anemll-convert.json; anything else in the folder is left alone.
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { TOKENIZER_FILES } from './tokenizer-files.js'

/** Where a conversion records its options and finished parts (to resume, and to know its own). */
export const STATE_FILE = '.anemll-convert.json'

/** The files a conversion writes by name besides its parts (`<name>.partial` while writing). */
const CONVERT_FILES = ['meta.yaml', 'config.json', STATE_FILE, ...TOKENIZER_FILES]

// writePackage's `.<part>.mlpackage.tmp-<pid>-<ms>` and compile's `.compile-<pid>`.
const TEMP = [/^\..+\.mlpackage\.tmp-(\d+)-\d+$/, /^\.compile-(\d+)$/]

const alive = (pid: number): boolean => {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' // exists, owned by someone else
  }
}

/** Whether `name` is a temp file or folder a conversion left behind (its process has ended). */
export function isStaleTemp(name: string): boolean {
  if (CONVERT_FILES.some((f) => name === `${f}.partial`)) return true
  const pid = TEMP.map((re) => re.exec(name)?.[1]).find((m) => m !== undefined)
  return pid !== undefined && !alive(Number(pid))
}

/** A part file an earlier conversion recorded: a plain name, never a path. */
const isPartName = (name: string) => /^[\w.-]+\.mlpackage$/.test(name) && !name.startsWith('.')

/**
 * Removes stale temps, and the recorded parts of an earlier conversion (`previous`) that this one
 * does not write (`current`), with their compiled .mlmodelc. Returns the names removed.
 */
export function removeLeftovers(dir: string, previous: string[], current: string[]): string[] {
  if (!existsSync(dir)) return []
  const removed = readdirSync(dir).filter(isStaleTemp)
  const now = new Set(current)
  for (const part of previous.filter((p) => isPartName(p) && !now.has(p)))
    for (const name of [part, part.replace(/\.mlpackage$/, '.mlmodelc')])
      if (existsSync(join(dir, name))) removed.push(name)
  for (const name of removed) rmSync(join(dir, name), { recursive: true, force: true })
  return removed
}

/** Whether `dir` holds files but no record of a conversion (an --output that is not ours). */
export function isForeignFolder(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).length > 0 && !existsSync(join(dir, STATE_FILE))
}
