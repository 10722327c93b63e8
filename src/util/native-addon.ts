// The optional Node-API addons under native/build/Release, built by `npm run build:native`.
// This file sits at the same depth in src/ (tsx) and dist/, so one relative path serves both.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { envVar } from './env.js'

/** The addon `name`.node, or undefined when it is not built or ANEMLL_NATIVE=0. */
export function loadAddon<T>(name: string): T | undefined {
  if (envVar('ANEMLL_NATIVE') === '0') return undefined
  const file = fileURLToPath(new URL(`../../native/build/Release/${name}.node`, import.meta.url))
  try {
    return createRequire(import.meta.url)(file) as T
  } catch {
    return undefined
  }
}
