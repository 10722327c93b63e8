// Runs the CLI from source in a child process, as a user would run `anemll ...`.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

export const BIN = join(import.meta.dirname, '../../src/cli/bin.ts')
// tsx by its file URL, so that a child started in another folder (opts.cwd) still finds it
export const TSX = import.meta.resolve('tsx')

export function anemll(
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
) {
  const r = spawnSync(process.execPath, ['--import', TSX, BIN, ...args], {
    encoding: 'utf8',
    input: opts.input,
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 5 * 60_000,
  })
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr }
}
