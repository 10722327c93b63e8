// The CoreML model protobuf (model.mlmodel): decode/encode plus the generated message types.
// Schema: proto/coreml.proto + proto/mil.proto (our own, Apple's field numbers and package names);
// regenerate gen/ with `npm run gen:proto`. Format reference: shared/docs/coreml-format.md §2.
//
// Messages are protobuf-es v2 plain objects: build them with `create(Schema, init)`, read oneofs
// through `.case`/`.value`. 64-bit integer fields (shapes, ranks, dimension sizes, blob offsets)
// are `bigint`; use `uint64ToNumber` when turning a value from a file into a JS number.

import { fromBinary, toBinary } from '@bufbuild/protobuf'
import { FormatError } from '../../util/errors.js'
import { ModelSchema } from './gen/coreml_pb.js'
import type { Model } from './gen/coreml_pb.js'

export * from './gen/coreml_pb.js'
export * from './gen/mil_pb.js'
export { create, clone, equals, fromBinary, toBinary, toJson } from '@bufbuild/protobuf'

// Nesting budget for decoding. Each control-flow level (Operation → Block) costs two levels and
// a typed Value about six, so 100 (the library default) is too tight for deep while_loop nests;
// 1000 still bounds the recursion of a hostile file.
const RECURSION_LIMIT = 1000

/**
 * Decodes `model.mlmodel` bytes into a `CoreML.Specification.Model`.
 * Unknown fields are kept and written back by `encodeModel`.
 * @param file path shown in errors
 * @throws FormatError if the bytes are not a valid protobuf Model (truncated, garbage, no spec version)
 */
export function decodeModel(bytes: Uint8Array, file: string): Model {
  let model: Model
  try {
    model = fromBinary(ModelSchema, bytes, { recursionLimit: RECURSION_LIMIT })
  } catch (e) {
    throw new FormatError(file, `not a CoreML model protobuf: ${(e as Error).message}`)
  }
  // Every real model declares its specification version (≥ 1); garbage that happens to parse does not.
  if (model.specificationVersion < 1) {
    throw new FormatError(
      file,
      `not a CoreML model: specificationVersion is ${model.specificationVersion}`,
    )
  }
  return model
}

/** Serializes a Model to `model.mlmodel` bytes (fields in number order, like Apple's encoder). */
export function encodeModel(model: Model): Uint8Array {
  return toBinary(ModelSchema, model)
}

/**
 * Converts a non-negative 64-bit field read from a file (size, offset, dimension) to a JS number.
 * @throws FormatError naming `file` and `what` if the value is negative or above 2^53 − 1
 */
export function uint64ToNumber(value: bigint, file: string, what: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new FormatError(file, `${what} is out of range: ${value}`)
  }
  return Number(value)
}
