// Bundles the web app (web/src) into web/dist with esbuild: one script, the page and its styles,
// served by `anemll serve` at / (no CDN: everything the page needs is in these three files).
import { build } from 'esbuild'
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const here = import.meta.dirname
const tmp = join(here, 'dist.partial')
rmSync(tmp, { recursive: true, force: true })
mkdirSync(tmp)
await build({
  entryPoints: [join(here, 'src/main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: join(tmp, 'app.js'),
  logLevel: 'warning',
})
for (const f of ['index.html', 'style.css']) copyFileSync(join(here, f), join(tmp, f))
rmSync(join(here, 'dist'), { recursive: true, force: true })
renameSync(tmp, join(here, 'dist'))
