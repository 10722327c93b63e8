// A served stories260K for the server tests: converted once per test file (test/generate/helpers'
// 'ctx256': C = 256, B = 16, room for multi-turn conversations), copied into a temp models folder
// and served on 127.0.0.1, port 0.
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadModel, type Model } from '../../src/generate/engine.js'
import {
  DEFAULTS,
  startServer,
  type RunningServer,
  type ServeOptions,
} from '../../src/server/listen.js'
import { convertedDir } from '../generate/helpers.js'

export const MODEL = 'stories260K'

const tmp = mkdtempSync(join(tmpdir(), 'anemll-serve-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))
export const MODELS_DIR = join(tmp, 'models')

let converted: Promise<string> | undefined

/** The conversion's folder in the models folder, made on first call. */
export function storiesDir(): Promise<string> {
  converted ??= convertedDir('ctx256').then((dir) => {
    cpSync(dir, join(MODELS_DIR, MODEL), { recursive: true })
    return join(MODELS_DIR, MODEL)
  })
  return converted
}

/** The conversion loaded straight through the engine (the reference a served answer must equal). */
export async function directModel(): Promise<Model> {
  return loadModel(await storiesDir())
}

/** Serves the models folder with test-sized defaults; close it with `close()`. */
export async function serveStories(opts: Partial<ServeOptions> = {}): Promise<RunningServer> {
  await storiesDir()
  return startServer({
    ...DEFAULTS,
    port: 0,
    modelsDir: MODELS_DIR,
    memoryBudget: 1 << 30,
    ...opts,
  })
}

/** Resolves once `cond()` holds, checking after each turn of the event loop (no wall clock). */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  turns = 100_000,
): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (await cond()) return
    await new Promise((r) => setImmediate(r))
  }
  throw new Error(`gave up waiting for ${what}`)
}
