// A SentencePiece `tokenizer.model` (for folders that ship no tokenizer.json) → the same
// tokenizer.json a GGUF `llama` vocabulary gives: both list pieces, scores and piece types.
//
//   ModelProto       1: pieces (repeated SentencePiece)  2: trainer_spec  3: normalizer_spec
//   SentencePiece    1: piece (string)  2: score (float)  3: type (1 normal, 2 unknown, 3 control,
//                    4 user-defined, 5 unused, 6 byte; the GGUF token types are the same numbers)
//   TrainerSpec      3: model_type (1 unigram, 2 bpe, 3 word, 4 char)  40..42: unk/bos/eos ids
//   NormalizerSpec   3: add_dummy_prefix (default true)
import { readFile } from 'node:fs/promises'
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire'
import type { GgufValue } from '../formats/gguf.js'
import { FormatError } from '../util/errors.js'
import { tokenizerFilesFromGguf, type GgufTokenizerFiles } from './from-gguf.js'

const BPE = 2

interface SpmModel {
  pieces: string[]
  scores: number[]
  types: number[]
  modelType: number
  ids: { unk: number; bos: number; eos: number }
  addDummyPrefix: boolean
}

/** Reads `tokenizer.model` and builds tokenizer.json + tokenizer_config.json objects from it. */
export async function tokenizerFilesFromSpm(path: string): Promise<GgufTokenizerFiles> {
  const spm = parseSpm(await readFile(path), path)
  if (spm.modelType !== BPE)
    throw new FormatError(
      path,
      `sentencepiece model type ${spm.modelType} is not supported (BPE only)`,
    )
  const id = (n: number) => (n >= 0 && n < spm.pieces.length ? [n] : [])
  const meta = new Map<string, GgufValue>([
    ['tokenizer.ggml.model', 'llama'],
    ['tokenizer.ggml.tokens', spm.pieces],
    ['tokenizer.ggml.scores', spm.scores],
    ['tokenizer.ggml.token_type', spm.types],
    ['tokenizer.ggml.add_space_prefix', spm.addDummyPrefix],
    ...id(spm.ids.unk).map((v): [string, GgufValue] => ['tokenizer.ggml.unknown_token_id', v]),
    ...id(spm.ids.bos).map((v): [string, GgufValue] => ['tokenizer.ggml.bos_token_id', v]),
    ...id(spm.ids.eos).map((v): [string, GgufValue] => ['tokenizer.ggml.eos_token_id', v]),
  ])
  return tokenizerFilesFromGguf(meta, path)
}

/** Decodes the fields we need from a ModelProto; every length is bounds-checked by the reader. */
export function parseSpm(bytes: Uint8Array, file: string): SpmModel {
  const out: SpmModel = {
    pieces: [],
    scores: [],
    types: [],
    modelType: 1,
    ids: { unk: 0, bos: 1, eos: 2 },
    addDummyPrefix: true,
  }
  try {
    fields(bytes, (no, r, wt) => {
      if (no === 1 && wt === WireType.LengthDelimited) readPiece(r.bytes(), out)
      else if (no === 2 && wt === WireType.LengthDelimited) readTrainer(r.bytes(), out)
      else if (no === 3 && wt === WireType.LengthDelimited)
        fields(r.bytes(), (n, rr, w) => {
          if (n === 3 && w === WireType.Varint) out.addDummyPrefix = rr.bool()
          else rr.skip(w)
        })
      else r.skip(wt)
    })
  } catch (err) {
    throw new FormatError(file, `not a sentencepiece model: ${(err as Error).message}`)
  }
  if (out.pieces.length === 0) throw new FormatError(file, 'sentencepiece model has no pieces')
  return out
}

function readPiece(bytes: Uint8Array, out: SpmModel): void {
  let piece = ''
  let score = 0
  let type = 1
  fields(bytes, (no, r, wt) => {
    if (no === 1 && wt === WireType.LengthDelimited) piece = r.string()
    else if (no === 2 && wt === WireType.Bit32) score = r.float()
    else if (no === 3 && wt === WireType.Varint) type = r.int32()
    else r.skip(wt)
  })
  out.pieces.push(piece)
  out.scores.push(score)
  out.types.push(type)
}

function readTrainer(bytes: Uint8Array, out: SpmModel): void {
  const idField: Record<number, keyof SpmModel['ids']> = { 40: 'unk', 41: 'bos', 42: 'eos' }
  fields(bytes, (no, r, wt) => {
    if (no === 3 && wt === WireType.Varint) out.modelType = r.int32()
    else if (idField[no] && wt === WireType.Varint) out.ids[idField[no]] = r.int32()
    else r.skip(wt)
  })
}

function fields(
  bytes: Uint8Array,
  each: (no: number, r: BinaryReader, wt: WireType) => void,
): void {
  const r = new BinaryReader(bytes)
  while (r.pos < r.len) {
    const [no, wt] = r.tag()
    each(no, r, wt)
  }
}
