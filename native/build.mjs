#!/usr/bin/env node
// Builds the optional native kernels (native/quant, native/kernels) with node-gyp, against the
// headers of the running Node when they are installed next to it (no download). A failed build
// is not an error: the TypeScript kernels are used then. `--strict` makes it one (CI).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const prefix = dirname(dirname(process.execPath)) // /usr for /usr/bin/node
const args = ['rebuild']
if (existsSync(join(prefix, 'include/node/node_api.h'))) args.push(`--nodedir=${prefix}`)
const gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js')
const r = spawnSync(process.execPath, [gyp, ...args], { cwd: here, stdio: 'inherit' })
if (r.status !== 0) {
  console.warn('anemll: native kernels not built; the TypeScript kernels are used (slower)')
  if (process.argv.includes('--strict')) process.exit(1)
}
