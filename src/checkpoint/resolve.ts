// What the user named as a model: a folder, a .gguf file, or a Hub id to download.
import { statSync } from 'node:fs'
import { resolve as resolvePath } from 'node:path'
import { UsageError } from '../util/errors.js'
import { parseRepoSpec } from './hub-cache.js'
import { downloadSnapshot, type HubOptions } from './hub.js'

/** A model on local disk. */
export interface ResolvedModel {
  kind: 'folder' | 'gguf'
  path: string
  /** Set when the model came from the Hub: `org/name@revision`. */
  hubId?: string
}

/**
 * An existing folder, an existing `.gguf` file, or `org/name[@revision]` (downloaded into the
 * Hugging Face cache, or found there in offline mode).
 * @example await resolveModel('HuggingFaceTB/SmolLM2-135M-Instruct') // { kind: 'folder', path: ... }
 */
export async function resolveModel(spec: string, opts: HubOptions = {}): Promise<ResolvedModel> {
  const st = statSync(spec, { throwIfNoEntry: false })
  if (st?.isDirectory()) return { kind: 'folder', path: resolvePath(spec) }
  if (st?.isFile()) {
    if (spec.toLowerCase().endsWith('.gguf')) return { kind: 'gguf', path: resolvePath(spec) }
    throw new UsageError(`${spec} is a file but not a .gguf; give a model folder or a .gguf file`)
  }
  if (looksLikePath(spec)) throw new UsageError(`no such file or folder: ${spec}`)
  let hub: { repo: string; revision: string }
  try {
    hub = parseRepoSpec(spec)
  } catch {
    throw new UsageError(
      `'${spec}' is not a model folder, a .gguf file or a Hub id (org/name[@revision])`,
    )
  }
  const snap = await downloadSnapshot(spec, opts)
  return { kind: 'folder', path: snap.dir, hubId: `${hub.repo}@${hub.revision}` }
}

// Hub ids are exactly `org/name[@rev]`; anything path-shaped that is missing is a typo'd path.
function looksLikePath(spec: string): boolean {
  const name = spec.split('@')[0]
  return (
    /^(\.|\/|~)/.test(spec) ||
    spec.includes('\\') ||
    /\.gguf$/i.test(spec) ||
    name.split('/').length > 2
  )
}
