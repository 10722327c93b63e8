// Our CoreML protobuf schema against coremltools' own generated classes (Model_pb2), the reference
// nobody here wrote: real models decode to the same fields, our re-encodings parse to equal
// messages, and a model using every field we declare encodes to the same bytes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fromJson } from '@bufbuild/protobuf'
import type { JsonObject } from '@bufbuild/protobuf'
import { decodeModel, encodeModel, ModelSchema, toJson } from '../../src/formats/proto/index.js'
import { noPython } from './python.js'
import { formatsOracle as oracle, jsonDiff } from './formats-oracle.js'
import { KITCHEN_SINK } from './formats.proto-sink.js'

const SHARED = process.env.ANEMLL_SHARED ?? join(import.meta.dirname, '../../../shared')
const MODELS = join(SHARED, 'models/coreml')
const skip = noPython()

function findFiles(dir: string, name: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e)
    return statSync(p).isDirectory() ? findFiles(p, name) : e === name ? [p] : []
  })
}

/** Paths of every message in the tree that holds fields our schema does not declare. */
function unknownFields(m: unknown, path = '', out: string[] = []): string[] {
  if (!m || typeof m !== 'object' || m instanceof Uint8Array) return out
  if ('$unknown' in m && (m as { $unknown?: unknown[] }).$unknown?.length)
    out.push(path || '<root>')
  for (const [k, v] of Object.entries(m))
    if (k !== '$unknown') unknownFields(v, `${path}.${k}`, out)
  return out
}

const tmp = mkdtempSync(join(tmpdir(), 'proto-oracle-'))
test.after(() => rmSync(tmp, { recursive: true, force: true }))

test(
  'real models: same fields as coremltools reads, and our re-encoding parses to an equal message',
  { skip },
  () => {
    const files = findFiles(MODELS, 'model.mlmodel')
    assert.ok(files.length >= 5)
    const ours = files.map((f, i) => {
      const model = decodeModel(readFileSync(f), f)
      assert.deepEqual(unknownFields(model), [], `${f}: fields our schema does not declare`)
      const out = join(tmp, `re-${i}.mlmodel`)
      writeFileSync(out, encodeModel(model))
      return { model, out }
    })
    const results = oracle([
      ...files.map((file) => ({ op: 'proto-dict', file })),
      ...files.map((file, i) => ({ op: 'proto-equal', a: file, b: ours[i].out })),
    ])
    files.forEach((f, i) => {
      const diff = jsonDiff(toJson(ModelSchema, ours[i].model), results[i].dict)
      assert.deepEqual(diff.slice(0, 10), [], `${f}: our decode differs from coremltools'`)
      assert.deepEqual(results[files.length + i], { equal: true, sameCanonical: true }, f)
    })
  },
)

test(
  'a model using every declared field encodes to the bytes coremltools encodes',
  { skip },
  () => {
    const model = fromJson(ModelSchema, KITCHEN_SINK)
    const bytes = encodeModel(model)
    const file = join(tmp, 'sink.mlmodel')
    writeFileSync(file, bytes)
    const [fromPython, dict] = oracle([
      { op: 'proto-from-json', json: KITCHEN_SINK },
      { op: 'proto-dict', file },
    ])
    // Same field numbers, wire types and field order on both sides (maps are listed in key order).
    const theirs = Buffer.from(fromPython.base64 as string, 'base64')
    const at = theirs.findIndex((b, i) => b !== bytes[i])
    assert.equal(bytes.length, theirs.length)
    assert.equal(at, -1, `first differing byte at ${at}`)
    assert.deepEqual(jsonDiff(dict.dict, KITCHEN_SINK as JsonObject), [])
    assert.deepEqual(
      jsonDiff(toJson(ModelSchema, decodeModel(bytes, file)), KITCHEN_SINK as JsonObject),
      [],
    )
  },
)
