// Runs the CLI from source in a child process, as a user would run `anemll ...`.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

const BIN = join(import.meta.dirname, '../../src/cli/bin.ts')

export function anemll(
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', BIN, ...args], {
    encoding: 'utf8',
    input: opts.input,
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 5 * 60_000,
  })
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr }
}
