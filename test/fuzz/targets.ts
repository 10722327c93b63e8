// Every parser of files that come from outside, as a fuzz target: where its seeds (small valid
// files) come from, how inputs are made from them, and the entry point a user's file goes
// through. File readers get the input as a file in `scratch`, as they would on disk.
import type fc from 'fast-check'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readModelConfig } from '../../src/checkpoint/config.js'
import { metaYaml } from '../../src/convert/meta.js'
import { readGguf, readGgufTensor } from '../../src/formats/gguf.js'
import { readManifest } from '../../src/formats/manifest.js'
import { BlobReader } from '../../src/formats/milblob-reader.js'
import { decodeModel } from '../../src/formats/proto/index.js'
import { readSafetensorsHeader, readSafetensorsTensor } from '../../src/formats/safetensors.js'
import { readMeta } from '../../src/generate/meta.js'
import { parseMil } from '../../src/mil/parse.js'
import { numel } from '../../src/mil/types.js'
import type { LazyData } from '../../src/mil/value.js'
import { modelFromProto } from '../../src/package/from-proto.js'
import { Tokenizer } from '../../src/tokenizer/tokenizer.js'
import { FormatError } from '../../src/util/errors.js'
import { SHARED } from '../fixtures/paths.js'
import { damagedBytes, damagedJson } from './mutate.js'

export interface FuzzTarget {
  name: string
  inputs: () => fc.Arbitrary<Uint8Array>
  /** Parses one input; may throw only AnemllErrors. */
  parse: (input: Uint8Array, scratch: string) => void | Promise<void>
}

const FIX = join(import.meta.dirname, '../fixtures')
const read = (...p: string[]) => readFileSync(join(...p))
const text = (...p: string[]) => readFileSync(join(...p), 'utf8')
const PACKAGES = ['plain', 'lut', 'stateful', 'multifunction', 'ios17'].map((p) =>
  join(FIX, 'coremltools', `${p}.mlpackage/Data/com.apple.CoreML`),
)
const COMPILED = ['coremltools-add-model/add_model', 'fluidaudio-helpers/Argmax']
  .concat(['fluidaudio-helpers/TokenDurationPrediction', 'fluidaudio-helpers/TransposeEncoder'])
  .map((m) => join(SHARED, 'models/coreml', `${m}.mlmodelc/model.mil`))

/** Writes the input where a file reader expects it and returns the path. */
function file(scratch: string, name: string, input: Uint8Array): string {
  const path = join(scratch, name)
  writeFileSync(path, input)
  return path
}

// Weights are not read by the model parsers: any attempt says so (and is a typed error).
const noBlob = (): LazyData => ({
  lazy: true,
  load: () => {
    throw new FormatError('weight.bin', 'not available while fuzzing')
  },
})

// meta.yaml seeds as our converter writes them: chunked with an argmax head, and monolithic.
const META = [
  {
    embeddings: 'llama_embeddings.mlmodelc',
    lmHead: 'llama_lm_head_lut6.mlmodelc',
    ffn: 'llama_FFN_PF_lut4_chunk_01of02.mlmodelc',
  },
  { monolithic: 'llama_monolithic_full_lut4.mlmodelc' },
].map((files) =>
  metaYaml({
    modelName: 'm',
    architecture: 'llama',
    context: 256,
    batch: 32,
    chunks: 2,
    prefix: 'llama',
    lut: { ffn: { bits: 4, groupSize: 0 }, lmHead: { bits: 6, groupSize: 4 } },
    splitLmHead: 8,
    vocabSize: 1000,
    lmHeadChunkSizes: [125, 125, 125, 125, 125, 125, 125, 125],
    argmax: true,
    files,
    conversion: { seed: 1, note: 'a: b' },
  }),
)

export const TARGETS: FuzzTarget[] = [
  {
    name: 'safetensors',
    inputs: () => damagedBytes([read(FIX, 'checkpoint/dtypes.safetensors')]),
    parse: (input, scratch) => {
      const f = readSafetensorsHeader(file(scratch, 'model.safetensors', input))
      for (const name of f.tensors.keys()) readSafetensorsTensor(f, name)
    },
  },
  {
    name: 'gguf',
    inputs: () =>
      damagedBytes(
        ['values.gguf', 'v2.gguf', 'quants.gguf'].map((f) => read(FIX, 'checkpoint', f)),
      ),
    parse: (input, scratch) => {
      const g = readGguf(file(scratch, 'model.gguf', input))
      for (const t of g.tensors) if (numel(t.shape) <= 1 << 16) readGgufTensor(g, t)
    },
  },
  {
    name: 'protobuf model spec',
    inputs: () => damagedBytes(PACKAGES.map((p) => read(p, 'model.mlmodel'))),
    parse: (input) => {
      modelFromProto(decodeModel(input, 'model.mlmodel'), 'model.mlmodel', noBlob)
    },
  },
  {
    name: 'weight.bin',
    inputs: () => damagedBytes(PACKAGES.map((p) => read(p, 'weights/weight.bin'))),
    parse: (input, scratch) => {
      const r = BlobReader.open(file(scratch, 'weight.bin', input))
      try {
        for (const b of r.entries()) r.read(b.offset)
      } finally {
        r.close()
      }
    },
  },
  {
    name: 'MIL text',
    inputs: () => damagedBytes(COMPILED.map((p) => read(p))),
    parse: (input) => {
      parseMil(Buffer.from(input).toString('utf8'), 'model.mil', { resolveBlob: noBlob })
    },
  },
  {
    name: 'meta.yaml',
    inputs: () => damagedBytes(META.map((m) => Buffer.from(m))),
    parse: (input, scratch) => void readMeta(file(scratch, 'meta.yaml', input)),
  },
  {
    name: 'tokenizer.json',
    inputs: () => damagedJson([text(SHARED, 'models/stories260K/tokenizer.json')]),
    parse: async (input, scratch) => {
      file(scratch, 'tokenizer.json', input)
      await Tokenizer.load(scratch)
    },
  },
  {
    name: 'tokenizer.model',
    inputs: () => damagedBytes([read(SHARED, 'models/stories260K/tokenizer.model')]),
    parse: async (input, scratch) => {
      // A folder without tokenizer.json: the sentencepiece model is converted.
      const dir = join(scratch, 'spm')
      mkdirSync(dir, { recursive: true })
      file(dir, 'tokenizer.model', input)
      await Tokenizer.load(dir)
    },
  },
  {
    name: 'Manifest.json',
    inputs: () => damagedJson(PACKAGES.map((p) => text(p, '../../Manifest.json'))),
    parse: (input, scratch) => {
      const pkg = join(scratch, 'm.mlpackage')
      mkdirSync(join(pkg, 'Data/com.apple.CoreML'), { recursive: true })
      file(pkg, 'Manifest.json', input)
      readManifest(pkg)
    },
  },
  {
    name: 'config.json',
    inputs: () => {
      const dir = join(FIX, 'checkpoint/configs')
      const seeds = readdirSync(dir).filter((f) => f.endsWith('.json'))
      return damagedJson(seeds.map((f) => text(dir, f)))
    },
    parse: (input, scratch) => void readModelConfig(file(scratch, 'config.json', input)),
  },
]
