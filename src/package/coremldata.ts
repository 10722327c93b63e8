// coremldata.bin of a compiled model: Apple's private container, read only for the facts we can
// recognise (format doc §8.1; layout seen in every compiled model in shared/models/coreml):
//
//   0x00  u32 502          model type (the Model.mlProgram field number)
//   0x04  u32 5, zeros
//   0x1C  u64 n            length of the next string (7)
//   0x24  n bytes          "generic"
//   +0    u32              specification version (0x2B when n = 7)
//   +0x20 u64 m            length of the description (0x4B when n = 7)
//   +0x28 m bytes          a serialized CoreML.Specification.ModelDescription
//   ...   trailing records (start with u32 502), ignored
//
// Nothing here is documented by Apple, so every step is checked and any surprise means
// "no description": callers fall back to metadata.json and the MIL text.
import { fromBinary } from '@bufbuild/protobuf'
import { ModelDescriptionSchema, type ModelDescription } from '../formats/proto/index.js'

const MLPROGRAM = 502
const NAME_LENGTH_AT = 0x1c
const MAX_NAME = 64

export interface CoreMLData {
  /** Specification version, when the header has a plausible one (1..100). */
  readonly specVersion?: number
  readonly description?: ModelDescription
}

/** Reads what we recognise of a coremldata.bin; never throws (unknown layouts give `{}`). */
export function readCoreMLData(bytes: Uint8Array): CoreMLData {
  try {
    if (bytes.length < NAME_LENGTH_AT + 8) return {}
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (view.getUint32(0, true) !== MLPROGRAM) return {}
    const nameLength = view.getBigUint64(NAME_LENGTH_AT, true)
    if (nameLength > BigInt(MAX_NAME)) return {}
    const specAt = NAME_LENGTH_AT + 8 + Number(nameLength)
    const descLengthAt = specAt + 0x20
    if (descLengthAt + 8 > bytes.length) return {}
    const spec = view.getUint32(specAt, true)
    const specVersion = spec >= 1 && spec <= 100 ? spec : undefined
    const descLength = view.getBigUint64(descLengthAt, true)
    const start = descLengthAt + 8
    if (descLength > BigInt(bytes.length - start)) return { specVersion }
    const desc = bytes.subarray(start, start + Number(descLength))
    return { specVersion, description: fromBinary(ModelDescriptionSchema, desc) }
  } catch {
    return {}
  }
}
