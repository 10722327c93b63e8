// Reads a compiled model directory (format doc §8.1):
//
//   Model.mlmodelc/
//     model.mil             the program as MIL text (every function)      → parseMil
//     weights/weight.bin    blob storage v2, as in a package              → lazy const data
//     metadata.json         [{ specificationVersion, author, userDefinedMetadata, inputSchema, ... }]
//     coremldata.bin        private container holding the ModelDescription → coremldata.ts
//
// BLOBFILE references are checked when the model is read (record exists, dtype and element count
// match the declared type); the data itself is read only when a value is loaded.
import { readFile, stat } from 'node:fs/promises'
import { isAbsolute, join, normalize, sep } from 'node:path'
import { BlobReader, blobElements } from '../formats/milblob-reader.js'
import { parseMil, type BlobRef } from '../mil/parse.js'
import type { FunctionInput, MilFunction, Program } from '../mil/program.js'
import { typeText } from '../mil/text-values.js'
import { DTYPES, numel, OPSETS, type TensorType } from '../mil/types.js'
import { checkData, PackedBits, type ArrayData, type LazyData } from '../mil/value.js'
import { FormatError } from '../util/errors.js'
import { readCoreMLData } from './coremldata.js'
import type { ModelDescription } from '../formats/proto/index.js'
import type { CoreMLModel, ModelMetadata } from './model.js'

/** model.mil larger than this is refused rather than read into one string. */
const MAX_MIL_BYTES = 256 * 1024 * 1024
const MAX_JSON_BYTES = 16 * 1024 * 1024
const MODEL_PATH = '@model_path/'

export interface ReadCompiledOptions {
  /** Ops missing from our op table are errors instead of opaque operations. */
  readonly strict?: boolean
}

/**
 * Reads a `.mlmodelc` directory into a CoreMLModel. Weights stay on disk until loaded.
 * @throws FormatError naming the file at fault (model.mil line/col, weight.bin offset, ...)
 */
export async function readCompiledModel(
  dir: string,
  opts: ReadCompiledOptions = {},
): Promise<CoreMLModel> {
  const milPath = join(dir, 'model.mil')
  const text = await readText(milPath, MAX_MIL_BYTES)
  const readers = new Map<string, BlobReader>()
  let parsed
  try {
    parsed = parseMil(text, milPath, {
      strict: opts.strict,
      resolveBlob: (ref, type) => blobData(dir, ref, type, milPath, readers),
    })
  } finally {
    for (const r of readers.values()) r.close()
  }
  const meta = await readMetadataJson(join(dir, 'metadata.json'))
  const data = await readFile(join(dir, 'coremldata.bin')).then(readCoreMLData, () => ({}))
  const desc = 'description' in data ? data.description : undefined
  const program = describe(parsed.program, desc, meta)
  const opsetSpec = Math.max(...program.functions.map((f) => OPSETS[f.opset].specVersion))
  const specVersion =
    num(meta.specificationVersion) ??
    ('specVersion' in data ? data.specVersion : undefined) ??
    opsetSpec
  return { specVersion, program, metadata: metadataOf(meta, desc) }
}

async function readText(path: string, max: number): Promise<string> {
  let size: number
  try {
    size = (await stat(path)).size
  } catch (e) {
    throw new FormatError(path, `cannot read: ${(e as Error).message}`)
  }
  if (size > max) throw new FormatError(path, `${size} bytes is more than the ${max} we read`)
  return readFile(path, 'utf8')
}

/** Lazy data for one BLOBFILE reference, after checking its record against the declared type. */
function blobData(
  dir: string,
  ref: BlobRef,
  type: TensorType,
  milPath: string,
  readers: Map<string, BlobReader>,
): LazyData {
  if (!ref.path.startsWith(MODEL_PATH))
    throw new FormatError(milPath, `BLOBFILE path '${ref.path}' does not start with ${MODEL_PATH}`)
  const rel = normalize(ref.path.slice(MODEL_PATH.length))
  if (isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`))
    throw new FormatError(milPath, `BLOBFILE path '${ref.path}' leaves the model directory`)
  const file = join(dir, rel)
  let reader = readers.get(file)
  if (!reader) {
    reader = openBlobs(file)
    readers.set(file, reader)
  }
  const info = reader.info(ref.offset)
  const n = numel(type.shape)
  if (info.dtype !== type.dtype || info.elementCount !== n)
    throw new FormatError(
      file,
      `blob at offset ${ref.offset} holds ${info.elementCount} ${info.dtype} values but model.mil declares ${typeText(type)}`,
    )
  return {
    lazy: true,
    key: `${file}@${ref.offset}`,
    blob: { path: file, offset: ref.offset },
    load: () => {
      const r = openBlobs(file)
      try {
        const data = toArrayData(type, r.read(ref.offset, info.dtype))
        const problem = checkData(type, data)
        if (problem) throw new FormatError(file, `blob at offset ${ref.offset}: ${problem}`)
        return data
      } finally {
        r.close()
      }
    },
  }
}

function openBlobs(file: string): BlobReader {
  try {
    return BlobReader.open(file)
  } catch (e) {
    if (e instanceof FormatError) throw e
    throw new FormatError(file, `cannot open weight file: ${(e as Error).message}`)
  }
}

/** A blob's bytes in the storage form of value.ts (sub-byte data stays packed). */
function toArrayData(type: TensorType, blob: ReturnType<BlobReader['read']>): ArrayData {
  const { bits } = DTYPES[type.dtype]
  if (bits < 8) return new PackedBits(blob.bytes, bits, blob.elementCount, type.dtype === 'int4')
  return blobElements(blob)
}

type Json = Record<string, unknown>

async function readMetadataJson(path: string): Promise<Json> {
  let text: string
  try {
    text = await readText(path, MAX_JSON_BYTES)
  } catch {
    return {}
  }
  try {
    const v: unknown = JSON.parse(text)
    const obj = Array.isArray(v) ? v[0] : v
    return typeof obj === 'object' && obj !== null ? (obj as Json) : {}
  } catch (e) {
    throw new FormatError(path, `not valid JSON: ${(e as Error).message}`)
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined)
const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined

function metadataOf(meta: Json, desc?: ModelDescription): ModelMetadata {
  const m = desc?.metadata
  const userDefined: Record<string, string> = { ...(m?.userDefined ?? {}) }
  const ud = meta.userDefinedMetadata
  if (typeof ud === 'object' && ud !== null)
    for (const [k, v] of Object.entries(ud)) if (typeof v === 'string') userDefined[k] = v
  return {
    shortDescription: str(meta.shortDescription) ?? str(m?.shortDescription),
    version: str(meta.version) ?? str(m?.versionString),
    author: str(meta.author) ?? str(m?.author),
    license: str(meta.license) ?? str(m?.license),
    userDefined,
  }
}

/**
 * Applies the model description to the parsed program: the compiler prints function inputs
 * sorted by name, the description keeps their real order; it also has the feature descriptions
 * and the default function.
 */
function describe(p: Program, desc: ModelDescription | undefined, meta: Json): Program {
  const names = p.functions.map((f) => f.name)
  const wanted = str(desc?.defaultFunctionName) ?? str(meta.defaultFunctionName)
  const defaultFunction =
    wanted && names.includes(wanted) ? wanted : names.includes('main') ? 'main' : names[0]
  const functions = p.functions.map((f): MilFunction => {
    const fd = desc?.functions.find((d) => d.name === f.name)
    const features = fd ?? (p.functions.length === 1 ? desc : undefined)
    const schemaNames = (key: string) =>
      Array.isArray(meta[key]) ? (meta[key] as Json[]).map((s) => str(s?.name) ?? '') : []
    const order = features
      ? [...features.input, ...features.state].map((d) => d.name)
      : p.functions.length === 1
        ? [...schemaNames('inputSchema'), ...schemaNames('stateSchema')]
        : []
    const descriptions: Record<string, string> = {}
    for (const d of features ? [...features.input, ...features.output, ...features.state] : [])
      if (d.shortDescription) descriptions[d.name] = d.shortDescription
    return { ...f, inputs: reorder(f.inputs, order), descriptions }
  })
  return { ...p, functions, defaultFunction }
}

function reorder(inputs: readonly FunctionInput[], order: readonly string[]): FunctionInput[] {
  const rank = (i: FunctionInput) => {
    const k = order.indexOf(i.var.name)
    return k < 0 ? order.length : k
  }
  return [...inputs].sort((a, b) => rank(a) - rank(b))
}
