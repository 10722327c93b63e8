// Step 6: `xcrun coremlcompiler compile` turns each .mlpackage into the .mlmodelc the runtimes
// and the app load. Only macOS has Apple's compiler; elsewhere this is a note, and
// `anemll compile <dir>` does it later on a Mac.
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import { AnemllError } from '../util/errors.js'

const run = promisify(execFile)

export interface CompileResult {
  compiled: boolean
  note?: string
  outputs: string[]
}

export const NOT_ON_MAC =
  "compiling to .mlmodelc needs Apple's coremlcompiler: run `anemll compile <output dir>` on a Mac (the .mlpackage files are complete)"

export async function compilePackages(
  packages: string[],
  outDir: string,
  mode: 'auto' | 'never' | 'force' = 'auto',
): Promise<CompileResult> {
  if (mode === 'never')
    return { compiled: false, note: 'compilation skipped (--no-compile)', outputs: [] }
  if (process.platform !== 'darwin') return { compiled: false, note: NOT_ON_MAC, outputs: [] }
  const outputs: string[] = []
  for (const pkg of packages) {
    const name = basename(pkg).replace(/\.mlpackage$/, '.mlmodelc')
    const tmp = join(outDir, `.compile-${process.pid}`)
    rmSync(tmp, { recursive: true, force: true })
    try {
      const force = mode === 'force' ? ['--add-mlprogram-if-eligible', 'force'] : []
      await run('xcrun', ['coremlcompiler', 'compile', pkg, tmp, ...force], {
        maxBuffer: 64 * 1024 * 1024,
      })
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true })
      throw new AnemllError(
        `xcrun coremlcompiler failed on ${basename(pkg)}: ${(e as Error).message.split('\n')[0]}`,
      )
    }
    const made = readdirSync(tmp).find((f) => f.endsWith('.mlmodelc'))
    if (!made) throw new AnemllError(`coremlcompiler produced no .mlmodelc for ${basename(pkg)}`)
    const dest = join(outDir, name)
    if (existsSync(dest)) rmSync(dest, { recursive: true, force: true })
    renameSync(join(tmp, made), dest)
    rmSync(tmp, { recursive: true, force: true })
    outputs.push(dest)
  }
  return { compiled: true, outputs }
}
