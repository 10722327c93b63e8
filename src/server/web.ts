// The web app's files (web/dist, built by `npm install` through `npm run build:web`), read once
// at start and served from memory: a fixed table of names, so no request path is ever opened.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Hono } from 'hono'

/** web/dist from src/server or dist/server alike. */
export const WEB_DIR = join(import.meta.dirname, '../../web/dist')

const FILES: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
}
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
}

export function serveWebApp(app: Hono, dir = WEB_DIR): void {
  const built = existsSync(join(dir, 'index.html'))
  for (const [route, name] of Object.entries(FILES)) {
    const body = built ? readFileSync(join(dir, name)) : undefined
    const type = TYPES[name.split('.').pop()!]
    app.get(route, (c) =>
      body
        ? c.body(body, 200, {
            'content-type': type,
            'cache-control': 'no-cache',
            // the page loads only its own script and styles; model output can never add one
            'content-security-policy':
              "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
          })
        : c.text(`the web app is not built (${dir}): run 'npm run build:web'`, 503),
    )
  }
}
