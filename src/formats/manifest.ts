// Manifest.json of an .mlpackage (coreml-format.md §1): which file is the model, where the
// weights are.
//
//   {
//       "fileFormatVersion": "1.0.0",
//       "itemInfoEntries": {
//           "<UUID>": {"author": "com.apple.CoreML", "description": "CoreML Model Specification",
//                      "name": "model.mlmodel", "path": "com.apple.CoreML/model.mlmodel"},
//           "<UUID>": {"author": "com.apple.CoreML", "description": "CoreML Model Weights",
//                      "name": "weights", "path": "com.apple.CoreML/weights"}
//       },
//       "rootModelIdentifier": "<UUID of the model item>"
//   }
//
// Item paths are relative to <package>/Data/. The root model is the rootModelIdentifier item;
// the weights directory is the item named "weights" by author "com.apple.CoreML". We write what
// coremltools writes (keys sorted, 4-space indent, trailing newline) with upper-case UUIDs.

import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { FormatError, UsageError } from '../util/errors.js'

export const MANIFEST_FILE = 'Manifest.json'
/** The newest manifest version coremltools reads (and the one it writes). */
export const FILE_FORMAT_VERSION = '1.0.0'
/** Item paths in the manifest are relative to this folder of the package. */
export const DATA_DIR = 'Data'
export const COREML_AUTHOR = 'com.apple.CoreML'

/** One entry of itemInfoEntries. */
export interface ManifestItem {
  author: string
  description: string
  name: string
  /** Relative to <package>/Data/. */
  path: string
}

export interface Manifest {
  fileFormatVersion: string
  /** Item identifier (a UUID string) → item. */
  itemInfoEntries: Record<string, ManifestItem>
  rootModelIdentifier: string
}

/** The two items coremltools writes: the model protobuf and the weights folder. */
const ROOT_MODEL_ITEM: ManifestItem = {
  author: COREML_AUTHOR,
  description: 'CoreML Model Specification',
  name: 'model.mlmodel',
  path: `${COREML_AUTHOR}/model.mlmodel`,
}
const WEIGHTS_ITEM: ManifestItem = {
  author: COREML_AUTHOR,
  description: 'CoreML Model Weights',
  name: 'weights',
  path: `${COREML_AUTHOR}/weights`,
}
const ITEM_KEYS = ['author', 'description', 'name', 'path'] as const

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A fresh upper-case UUID, as Apple's tools write them. */
export function newItemId(): string {
  return randomUUID().toUpperCase()
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** True if `a` (major.minor.patch) is newer than `b`. */
function newer(a: number[], b: number[]): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i]
  return false
}

/**
 * Parses and validates Manifest.json text (unknown top-level keys are ignored).
 * @param file path shown in errors
 * @throws FormatError naming the file and the missing or bad entry
 */
export function parseManifest(text: string, file: string): Manifest {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new FormatError(file, `not valid JSON: ${(e as Error).message}`)
  }
  if (!isObject(json)) throw new FormatError(file, 'manifest is not a JSON object')
  const version = json.fileFormatVersion
  const parts =
    typeof version === 'string' && /^\d+\.\d+\.\d+$/.test(version)
      ? version.split('.').map(Number)
      : undefined
  if (!parts)
    throw new FormatError(
      file,
      `fileFormatVersion ${JSON.stringify(version)} is not "major.minor.patch"`,
    )
  if (newer(parts, FILE_FORMAT_VERSION.split('.').map(Number))) {
    throw new FormatError(
      file,
      `fileFormatVersion ${version} is newer than the supported ${FILE_FORMAT_VERSION}`,
    )
  }
  const entries = json.itemInfoEntries
  if (!isObject(entries)) throw new FormatError(file, 'itemInfoEntries is missing or not an object')
  const items: Record<string, ManifestItem> = {}
  for (const [id, item] of Object.entries(entries)) {
    if (!isObject(item)) throw new FormatError(file, `itemInfoEntries["${id}"] is not an object`)
    for (const key of ITEM_KEYS) {
      if (typeof item[key] !== 'string') {
        throw new FormatError(file, `itemInfoEntries["${id}"].${key} is missing or not a string`)
      }
    }
    const path = item.path as string
    // Item paths must stay inside Data/: a hostile manifest must not point us elsewhere.
    if (isAbsolute(path) || path.split(/[\\/]/).includes('..')) {
      throw new FormatError(file, `itemInfoEntries["${id}"].path "${path}" leaves the package`)
    }
    items[id] = {
      author: item.author as string,
      description: item.description as string,
      name: item.name as string,
      path,
    }
  }
  const root = json.rootModelIdentifier
  if (typeof root !== 'string')
    throw new FormatError(file, 'rootModelIdentifier is missing or not a string')
  if (!(root in items))
    throw new FormatError(file, `rootModelIdentifier "${root}" names no item in itemInfoEntries`)
  return { fileFormatVersion: version as string, itemInfoEntries: items, rootModelIdentifier: root }
}

/** The identifier of the weights folder item (name "weights", author com.apple.CoreML), if any. */
export function weightsItemId(manifest: Manifest): string | undefined {
  return Object.keys(manifest.itemInfoEntries).find((id) => {
    const item = manifest.itemInfoEntries[id]
    return item.name === WEIGHTS_ITEM.name && item.author === COREML_AUTHOR
  })
}

/** A package's manifest, with its item paths resolved. */
export interface PackageManifest {
  manifest: Manifest
  /** Absolute path of the model protobuf (Data/<root item path>). */
  rootModelPath: string
  /** Absolute path of the weights folder, if the manifest lists one. */
  weightsDir?: string
}

/**
 * Reads `<packageDir>/Manifest.json` and resolves the root model and weights folder.
 * Like coremltools, every listed item must exist — except an empty weights folder, which git and
 * some archivers drop (a model without weights then reads as such; any weight it names fails).
 * @throws FormatError naming the manifest file and the bad entry
 */
export function readManifest(packageDir: string): PackageManifest {
  const file = join(packageDir, MANIFEST_FILE)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new FormatError(file, `cannot read the package manifest: ${(e as Error).message}`)
  }
  const manifest = parseManifest(text, file)
  const wid = weightsItemId(manifest)
  for (const [id, item] of Object.entries(manifest.itemInfoEntries)) {
    if (!existsSync(join(packageDir, DATA_DIR, item.path)) && id !== wid) {
      throw new FormatError(
        file,
        `item "${id}" (${item.name}): ${DATA_DIR}/${item.path} does not exist`,
      )
    }
  }
  const rootModelPath = join(
    packageDir,
    DATA_DIR,
    manifest.itemInfoEntries[manifest.rootModelIdentifier].path,
  )
  const weightsDir =
    wid === undefined ? undefined : join(packageDir, DATA_DIR, manifest.itemInfoEntries[wid].path)
  return { manifest, rootModelPath, weightsDir }
}

/** Item identifiers for a new manifest; omitted ones are random. Given ones must be UUIDs. */
export interface ManifestIds {
  modelId?: string
  weightsId?: string
}

function itemId(id: string | undefined, what: string): string {
  if (id === undefined) return newItemId()
  if (!UUID.test(id)) throw new UsageError(`${what} "${id}" is not a UUID (8-4-4-4-12 hex digits)`)
  return id.toUpperCase()
}

/**
 * The manifest coremltools writes for a new package: the model item and the weights item.
 * Pass fixed ids to make the output reproducible.
 */
export function newManifest(ids: ManifestIds = {}): Manifest {
  const modelId = itemId(ids.modelId, 'model item id')
  const weightsId = itemId(ids.weightsId, 'weights item id')
  if (modelId === weightsId) throw new UsageError(`model and weights item ids are both ${modelId}`)
  return {
    fileFormatVersion: FILE_FORMAT_VERSION,
    itemInfoEntries: { [modelId]: { ...ROOT_MODEL_ITEM }, [weightsId]: { ...WEIGHTS_ITEM } },
    rootModelIdentifier: modelId,
  }
}

/** Deep copy with object keys in sorted order (what nlohmann::json prints). */
function sortKeys(v: unknown): unknown {
  if (!isObject(v)) return v
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k])
  return out
}

/** Manifest text exactly as coremltools formats it: sorted keys, 4-space indent, final newline. */
export function formatManifest(manifest: Manifest): string {
  const { fileFormatVersion, itemInfoEntries, rootModelIdentifier } = manifest
  return `${JSON.stringify(sortKeys({ fileFormatVersion, itemInfoEntries, rootModelIdentifier }), null, 4)}\n`
}

/**
 * Writes `<packageDir>/Manifest.json` for a new package (model + weights items), through a temp
 * file and a rename. Returns the manifest written.
 */
export function writeManifest(packageDir: string, ids: ManifestIds = {}): Manifest {
  const manifest = newManifest(ids)
  const file = join(packageDir, MANIFEST_FILE)
  writeFileSync(`${file}.partial`, formatManifest(manifest))
  renameSync(`${file}.partial`, file)
  return manifest
}
