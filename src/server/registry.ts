// The served models: every folder with a meta.yaml under the models folder, plus any given one by
// one. A model loads on first use and stays loaded while the loaded models' sizes fit the memory
// budget; past it, the least recently used idle model is unloaded (a model in use never is, so a
// single large model may exceed the budget). Ids are folder paths relative to the models folder:
// requests name a model by id only, never by path.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { basename, dirname, join, relative, sep } from 'node:path'
import type { LoadModelOptions, Model } from '../generate/engine.js'
import { readMeta, type ModelMeta } from '../generate/meta.js'
import { UsageError } from '../util/errors.js'
import { PromptCaches } from './prompt-cache.js'
import { FifoLock } from './queue.js'

export interface ModelEntry {
  id: string
  meta: ModelMeta
  /** Bytes of its files on disk: the estimate the memory budget counts. */
  bytes: number
  lock: FifoLock
  loaded?: Promise<{ model: Model; caches: PromptCaches }>
  /** Use counter value of the last use (a larger one is more recent). */
  lastUse: number
}

export interface RegistryOptions {
  /** Folder searched (three levels deep) for folders with a meta.yaml. */
  modelsDir?: string
  /** meta.yaml files (or their folders) served besides those found. */
  metas?: string[]
  /** Requests that may wait per model while it is busy. */
  queue: number
  /** Bytes of loaded models allowed before unloading the least recently used. */
  memoryBudget: number
  /** KV caches kept per loaded model for prompt caching. */
  promptCaches: number
  /** How a model is loaded (the engine's loadModel). */
  load: (meta: string, opts?: LoadModelOptions) => Promise<Model>
  /** Reports a folder skipped while scanning (its meta.yaml did not read). */
  warn?: (message: string) => void
}

const SCAN_DEPTH = 3

function folderBytes(dir: string): number {
  let n = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) n += folderBytes(p)
    else if (e.isFile()) n += statSync(p).size
  }
  return n
}

function findMetas(dir: string, depth: number, out: string[]): string[] {
  if (existsSync(join(dir, 'meta.yaml'))) return [...out, join(dir, 'meta.yaml')]
  if (depth === 0) return out
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.isDirectory() && !e.name.startsWith('.') && !/\.mlmodelc$|\.mlpackage$/.test(e.name))
      out = findMetas(join(dir, e.name), depth - 1, out)
  return out
}

export class Registry {
  readonly #entries = new Map<string, ModelEntry>()
  readonly #opts: RegistryOptions
  #uses = 0

  constructor(opts: RegistryOptions) {
    this.#opts = opts
    const { modelsDir } = opts
    if (modelsDir && !(existsSync(modelsDir) && statSync(modelsDir).isDirectory()))
      throw new UsageError(`--models ${modelsDir}: no such folder`)
    const found = modelsDir ? findMetas(modelsDir, SCAN_DEPTH, []) : []
    for (const file of found) {
      const rel = relative(modelsDir!, dirname(file)).split(sep).join('/')
      try {
        this.#add(rel || basename(dirname(file)), readMeta(file))
      } catch (err) {
        opts.warn?.(`skipping ${file}: ${(err as Error).message}`)
      }
    }
    for (const m of opts.metas ?? []) {
      const meta = readMeta(m)
      this.#add(basename(meta.dir), meta)
    }
  }

  #add(id: string, meta: ModelMeta): void {
    const other = this.#entries.get(id)
    if (other)
      throw new UsageError(
        `two models would be served as '${id}' (${other.meta.file} and ${meta.file}); rename a folder`,
      )
    const bytes = folderBytes(meta.dir)
    this.#entries.set(id, { id, meta, bytes, lock: new FifoLock(this.#opts.queue), lastUse: 0 })
  }

  list(): ModelEntry[] {
    return [...this.#entries.values()]
  }

  get(id: string): ModelEntry | undefined {
    return this.#entries.get(id)
  }

  /**
   * The loaded model of `entry` (loading it, and unloading idle ones past the budget, first).
   * Call while holding the entry's lock.
   */
  async open(entry: ModelEntry): Promise<{ model: Model; caches: PromptCaches }> {
    entry.lastUse = ++this.#uses
    if (!entry.loaded) {
      this.#makeRoom(entry)
      entry.loaded = this.#opts.load(entry.meta.file).then((model) => ({
        model,
        caches: new PromptCaches(() => model.newCache(), this.#opts.promptCaches),
      }))
      entry.loaded.catch(() => (entry.loaded = undefined)) // the next request tries again
    }
    return entry.loaded
  }

  /** Unloads least recently used idle models until `entry` fits the budget beside the rest. */
  #makeRoom(entry: ModelEntry): void {
    const loaded = this.list().filter((e) => e.loaded && e !== entry)
    let used = loaded.reduce((n, e) => n + e.bytes, 0)
    for (const e of loaded.sort((a, b) => a.lastUse - b.lastUse)) {
      if (used + entry.bytes <= this.#opts.memoryBudget) break
      if (!e.lock.idle) continue
      e.loaded = undefined
      used -= e.bytes
    }
  }
}
