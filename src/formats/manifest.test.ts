import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  formatManifest,
  MANIFEST_FILE,
  newItemId,
  newManifest,
  parseManifest,
  readManifest,
  weightsItemId,
  writeManifest,
} from './manifest.js'
import { FormatError, UsageError } from '../util/errors.js'

const SHARED = process.env.ANEMLL_SHARED ?? join(import.meta.dirname, '../../../shared')
const MODELS = join(SHARED, 'models/coreml')
const tmp = mkdtempSync(join(tmpdir(), 'manifest-'))
test.after(() => rmSync(tmp, { recursive: true, force: true }))

const packages = readdirSync(MODELS).flatMap((d) =>
  statSync(join(MODELS, d)).isDirectory()
    ? readdirSync(join(MODELS, d))
        .filter((p) => p.endsWith('.mlpackage'))
        .map((p) => join(MODELS, d, p))
    : [],
)

test('the shared real packages exist', () => assert.ok(packages.length >= 5, `${packages.length}`))

for (const pkg of packages) {
  const label = pkg.slice(MODELS.length + 1)
  test(`reads ${label} and re-formats its manifest byte for byte`, () => {
    const { manifest, rootModelPath, weightsDir } = readManifest(pkg)
    assert.equal(rootModelPath, join(pkg, 'Data/com.apple.CoreML/model.mlmodel'))
    assert.equal(weightsDir, join(pkg, 'Data/com.apple.CoreML/weights'))
    assert.ok(existsSync(join(weightsDir!, 'weight.bin')))
    assert.equal(Object.keys(manifest.itemInfoEntries).length, 2)
    // coremltools wrote these (nlohmann::json, width 4): our formatter must give the same bytes.
    assert.equal(formatManifest(manifest), readFileSync(join(pkg, MANIFEST_FILE), 'utf8'))
  })
}

test('writeManifest with fixed ids is reproducible and matches the coremltools layout', () => {
  const ids = {
    modelId: 'c0ffee00-1234-4abc-8def-0123456789ab',
    weightsId: '7A2B8E1C-5D4F-4E0A-9B1C-2D3E4F5A6B7C',
  }
  writeManifest(tmp, ids)
  const text = readFileSync(join(tmp, MANIFEST_FILE), 'utf8')
  // The example of coreml-format.md §1.3, verbatim.
  const want = `{
    "fileFormatVersion": "1.0.0",
    "itemInfoEntries": {
        "7A2B8E1C-5D4F-4E0A-9B1C-2D3E4F5A6B7C": {
            "author": "com.apple.CoreML",
            "description": "CoreML Model Weights",
            "name": "weights",
            "path": "com.apple.CoreML/weights"
        },
        "C0FFEE00-1234-4ABC-8DEF-0123456789AB": {
            "author": "com.apple.CoreML",
            "description": "CoreML Model Specification",
            "name": "model.mlmodel",
            "path": "com.apple.CoreML/model.mlmodel"
        }
    },
    "rootModelIdentifier": "C0FFEE00-1234-4ABC-8DEF-0123456789AB"
}
`
  assert.equal(text, want)
  assert.equal(existsSync(join(tmp, `${MANIFEST_FILE}.partial`)), false)
  const m = parseManifest(text, 'm.json')
  assert.equal(weightsItemId(m), '7A2B8E1C-5D4F-4E0A-9B1C-2D3E4F5A6B7C')
})

test('new item ids are upper-case UUIDs; bad or equal fixed ids are usage errors', () => {
  assert.match(newItemId(), /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/)
  const m = newManifest()
  assert.equal(Object.keys(m.itemInfoEntries).length, 2)
  assert.throws(() => newManifest({ modelId: 'model' }), UsageError)
  const id = newItemId()
  assert.throws(() => newManifest({ modelId: id, weightsId: id.toLowerCase() }), /both/)
})

const GOOD = formatManifest(newManifest({ modelId: newItemId(), weightsId: newItemId() }))

type ManifestJson = {
  itemInfoEntries: Record<string, Record<string, unknown>>
  rootModelIdentifier?: string
  [key: string]: unknown
}

/** GOOD with one edit applied to its parsed JSON. */
function edited(edit: (j: ManifestJson) => void): string {
  const j = JSON.parse(GOOD)
  edit(j)
  return JSON.stringify(j)
}

const rootItem = (j: ManifestJson) => j.itemInfoEntries[j.rootModelIdentifier!]

test('malformed manifests are FormatErrors naming the file and the bad entry', () => {
  const cases: [string, RegExp][] = [
    ['{', /not valid JSON/],
    ['[]', /not a JSON object/],
    [edited((j) => delete j.fileFormatVersion), /fileFormatVersion undefined/],
    [
      edited((j) => (j.fileFormatVersion = '1.0')),
      /fileFormatVersion "1.0" is not "major.minor.patch"/,
    ],
    [edited((j) => (j.fileFormatVersion = '1.1.0')), /1.1.0 is newer than the supported 1.0.0/],
    [
      edited((j) => (j.itemInfoEntries = [] as unknown as ManifestJson['itemInfoEntries'])),
      /itemInfoEntries is missing or not an object/,
    ],
    [edited((j) => delete rootItem(j).path), /itemInfoEntries\["[0-9A-F-]+"\]\.path is missing/],
    [edited((j) => (rootItem(j).author = 7)), /\.author is missing or not a string/],
    [edited((j) => (rootItem(j).path = '../../etc/passwd')), /leaves the package/],
    [edited((j) => (rootItem(j).path = '/etc/passwd')), /leaves the package/],
    [edited((j) => delete j.rootModelIdentifier), /rootModelIdentifier is missing/],
    [edited((j) => (j.rootModelIdentifier = 'nope')), /rootModelIdentifier "nope" names no item/],
  ]
  for (const [text, re] of cases) {
    assert.throws(
      () => parseManifest(text, '/x/Manifest.json'),
      (e: Error) => e instanceof FormatError && e.file === '/x/Manifest.json' && re.test(e.message),
      `${re} for ${text.slice(0, 60)}`,
    )
  }
  // Older versions and unknown top-level keys are fine.
  assert.ok(
    parseManifest(
      edited((j) => ((j.fileFormatVersion = '0.9.0'), (j.extra = 1))),
      'm',
    ),
  )
})

test('readManifest: missing manifest, missing item and a package without weights', () => {
  const pkg = join(tmp, 'x.mlpackage')
  assert.throws(
    () => readManifest(pkg),
    (e: Error) => e instanceof FormatError && /cannot read/.test(e.message),
  )
  const src = packages[0]
  cpSync(src, pkg, { recursive: true })
  // An empty weights folder is dropped by git: the package still reads (weights fail on load).
  rmSync(join(pkg, 'Data/com.apple.CoreML/weights'), { recursive: true })
  assert.ok(readManifest(pkg).weightsDir)
  const model = join(pkg, 'Data/com.apple.CoreML/model.mlmodel')
  const bytes = readFileSync(model)
  rmSync(model)
  assert.throws(
    () => readManifest(pkg),
    /item "[0-9A-F-]+" \(model\.mlmodel\): Data\/com.apple.CoreML\/model\.mlmodel does not exist/,
  )
  writeFileSync(model, bytes)
  // Drop the weights item from the manifest: still a valid package, just no weights dir.
  const file = join(pkg, MANIFEST_FILE)
  const j = JSON.parse(readFileSync(file, 'utf8'))
  for (const id of Object.keys(j.itemInfoEntries))
    if (id !== j.rootModelIdentifier) delete j.itemInfoEntries[id]
  writeFileSync(file, JSON.stringify(j))
  const r = readManifest(pkg)
  assert.equal(r.weightsDir, undefined)
  assert.ok(existsSync(r.rootModelPath))
})
