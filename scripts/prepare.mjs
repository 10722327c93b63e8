#!/usr/bin/env node
// npm's `prepare` step: compiles TypeScript into dist/, the native kernels and the web app, but only what is
// out of date. npm runs `prepare` again when `npx anemll` installs this folder into its cache,
// so a build already made by `npm install` must cost nothing the second time.
// A stamp beside each output holds the sha256 of the inputs it was built from.
// Usage: node scripts/prepare.mjs [--check]   (--check: build nothing, exit 1 if anything is stale)
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'

const root = join(import.meta.dirname, '..')
const check = process.argv.includes('--check')

function files(dir, keep) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = join(dir, e.name)
      if (e.isDirectory()) return e.name === 'build' || e.name.startsWith('.') ? [] : files(p, keep)
      return keep(e.name) ? [p] : []
    })
    .sort()
}

function digest(paths, extra) {
  const h = createHash('sha256').update(extra)
  for (const p of paths) h.update(`${relative(root, p)}\0`).update(readFileSync(p))
  return h.digest('hex')
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const steps = [
  {
    what: 'TypeScript → dist/ (tsc)',
    stamp: join(root, 'dist/.prepare-stamp'),
    outputs: [join(root, 'dist/index.js'), join(root, 'dist/cli/bin.js')],
    inputs: () =>
      digest(
        [
          ...files(join(root, 'src'), (n) => !/\.(test|case)\.ts$/.test(n)),
          ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => join(root, f)),
        ],
        '',
      ),
    run: [tsc, '-p', join(root, 'tsconfig.build.json')],
  },
  {
    what: 'native kernels (node-gyp)',
    stamp: join(root, 'native/build/.prepare-stamp'),
    outputs: [],
    // The addons are tied to the Node ABI; a failed build is recorded too (the TypeScript
    // kernels are used then) so that it is not retried until something changes.
    inputs: () =>
      digest(
        files(join(root, 'native'), (n) => /\.(c|h|gyp|mjs)$/.test(n)),
        `${process.versions.modules} ${process.platform} ${process.arch}`,
      ),
    run: [join(root, 'native/build.mjs'), ...process.argv.filter((a) => a === '--strict')],
  },
  {
    what: 'web app → web/dist/ (esbuild)',
    stamp: join(root, 'web/dist/.prepare-stamp'),
    outputs: [join(root, 'web/dist/app.js')],
    inputs: () =>
      digest(
        [
          ...files(join(root, 'web/src'), () => true),
          ...['index.html', 'style.css', 'build.mjs'].map((f) => join(root, 'web', f)),
        ],
        '',
      ),
    run: [join(root, 'web/build.mjs')],
  },
]

let stale = 0
for (const s of steps) {
  const want = s.inputs()
  const have = existsSync(s.stamp) ? readFileSync(s.stamp, 'utf8') : ''
  if (have === want && s.outputs.every((o) => existsSync(o))) {
    console.log(`anemll: ${s.what} is up to date`)
    continue
  }
  stale++
  if (check) {
    console.log(`anemll: ${s.what} is out of date`)
    continue
  }
  console.log(`anemll: building ${s.what}…`)
  const t0 = process.hrtime.bigint()
  const r = spawnSync(process.execPath, s.run, { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  mkdirSync(dirname(s.stamp), { recursive: true })
  writeFileSync(s.stamp, want)
  console.log(`anemll: built ${s.what} in ${seconds.toFixed(1)} s`)
}
if (check && stale) process.exit(1)
