// The safetensors weights of a Hugging Face folder: one model.safetensors, or shards listed in
// model.safetensors.index.json ({ "metadata": {...}, "weight_map": { tensor: shard file } }).

import { existsSync } from 'node:fs'
import { join } from 'node:path'
import {
  type SafetensorsFile,
  type SafetensorsTensorInfo,
  readSafetensorsFloat32,
  readSafetensorsRows,
  readSafetensorsHeader,
} from '../formats/safetensors.js'
import { FormatError } from '../util/errors.js'
import { isObject, readJsonFile } from './json.js'

export const SINGLE_FILE = 'model.safetensors'
export const INDEX_FILE = 'model.safetensors.index.json'

/** Tensors across one or more safetensors files, by name. */
export interface SafetensorsWeights {
  files: SafetensorsFile[]
  /** Tensor names in index (or header) order. */
  names: string[]
  get(name: string): { file: SafetensorsFile; info: SafetensorsTensorInfo }
  readFloat32(name: string, out?: Float32Array): Float32Array
  /** Rows [start, end) of axis 0, reading only their bytes. */
  readRows(name: string, start: number, end: number): Float32Array
}

// Shard names are plain file names in the folder: nothing that could point elsewhere.
const SHARD_NAME = /^(?!\.)[^/\\]+\.safetensors$/

function readIndex(path: string): Map<string, string> {
  const raw = readJsonFile(path)
  if (!isObject(raw) || !isObject(raw.weight_map)) {
    throw new FormatError(path, "expected an object with a 'weight_map' object")
  }
  const map = new Map<string, string>()
  for (const [name, shard] of Object.entries(raw.weight_map)) {
    if (typeof shard !== 'string' || !SHARD_NAME.test(shard)) {
      throw new FormatError(
        path,
        `tensor '${name}' maps to ${JSON.stringify(shard)}, not a .safetensors file name`,
      )
    }
    map.set(name, shard)
  }
  if (map.size === 0) throw new FormatError(path, 'weight_map is empty')
  return map
}

/**
 * Opens the weights of a Hugging Face folder, reading every header (and checking the index
 * against them) but no tensor data.
 */
export function openSafetensorsWeights(dir: string): SafetensorsWeights {
  const indexPath = join(dir, INDEX_FILE)
  const byName = new Map<string, { file: SafetensorsFile; info: SafetensorsTensorInfo }>()
  const files: SafetensorsFile[] = []
  if (existsSync(indexPath)) {
    const shards = new Map<string, SafetensorsFile>()
    for (const [name, shard] of readIndex(indexPath)) {
      let file = shards.get(shard)
      if (!file) {
        file = readSafetensorsHeader(join(dir, shard))
        shards.set(shard, file)
        files.push(file)
      }
      const info = file.tensors.get(name)
      if (!info)
        throw new FormatError(
          indexPath,
          `tensor '${name}' is mapped to ${shard}, which does not contain it`,
        )
      byName.set(name, { file, info })
    }
  } else if (existsSync(join(dir, SINGLE_FILE))) {
    const file = readSafetensorsHeader(join(dir, SINGLE_FILE))
    files.push(file)
    for (const info of file.tensors.values()) byName.set(info.name, { file, info })
  } else {
    const hint = existsSync(join(dir, 'pytorch_model.bin'))
      ? ' (PyTorch .bin weights are not supported)'
      : ''
    throw new FormatError(dir, `no ${SINGLE_FILE} or ${INDEX_FILE}${hint}`)
  }
  const get = (name: string) => {
    const hit = byName.get(name)
    if (!hit) throw new FormatError(dir, `no tensor named '${name}'`)
    return hit
  }
  return {
    files,
    names: [...byName.keys()],
    get,
    readFloat32: (name, out) => readSafetensorsFloat32(get(name).file, name, out),
    readRows: (name, start, end) => readSafetensorsRows(get(name).file, name, start, end),
  }
}
