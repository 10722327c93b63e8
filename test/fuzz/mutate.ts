// Inputs for the parser fuzzers: valid files (seeds) damaged the ways files get damaged — bit
// flips, truncation, insertions, deletions, duplicated spans, sizes and counts overwritten with
// extreme values — plus plain random bytes; for JSON files, also valid JSON with any value
// replaced by arbitrary JSON. Every choice comes from fast-check, so a seed replays a run.
import fc from 'fast-check'

// Values that break size, count and offset fields: 0, 1, around 2^31, 2^32 − 1, 2^63.
const WORDS = [0, 1, 2, 7, 64, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]
const LONGS = [
  0n,
  1n,
  0x7fffffffn,
  0xffffffffn,
  2n ** 53n,
  2n ** 62n,
  2n ** 63n - 1n,
  2n ** 64n - 1n,
]

type Edit =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'u32'; at: number; value: number }
  | { kind: 'u64'; at: number; value: bigint }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'repeat'; at: number; length: number; to: number }

const at = fc.nat()
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at, bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('byte' as const), at, value: fc.nat(255) }),
  fc.record({ kind: fc.constant('u32' as const), at, value: fc.constantFrom(...WORDS) }),
  fc.record({ kind: fc.constant('u64' as const), at, value: fc.constantFrom(...LONGS) }),
  fc.record({ kind: fc.constant('truncate' as const), at }),
  fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    kind: fc.constant('repeat' as const),
    at,
    length: fc.integer({ min: 1, max: 256 }),
    to: at,
  }),
)

function apply(src: Uint8Array, e: Edit): Uint8Array {
  const n = src.length
  if (n === 0) return e.kind === 'insert' ? e.bytes : src
  const i = e.at % n
  const out = Buffer.from(src)
  switch (e.kind) {
    case 'flip':
      out[i] ^= 1 << e.bit
      return out
    case 'byte':
      out[i] = e.value
      return out
    case 'u32':
      if (i + 4 <= n) out.writeUInt32LE(e.value, i)
      return out
    case 'u64':
      if (i + 8 <= n) out.writeBigUInt64LE(e.value, i)
      return out
    case 'truncate':
      return out.subarray(0, i)
    case 'insert':
      return Buffer.concat([out.subarray(0, i), e.bytes, out.subarray(i)])
    case 'delete':
      return Buffer.concat([out.subarray(0, i), out.subarray(i + e.length)])
    case 'repeat': {
      const span = out.subarray(i, i + e.length)
      const to = e.to % n
      return Buffer.concat([out.subarray(0, to), span, out.subarray(to)])
    }
  }
}

/** Seeds damaged by one to eight edits, or random bytes (one input in ten). */
export function damagedBytes(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const damaged = fc
    .tuple(fc.nat(seeds.length - 1), fc.array(edit, { minLength: 1, maxLength: 8 }))
    .map(([s, edits]) => edits.reduce(apply, seeds[s]))
  return fc.oneof(
    { weight: 9, arbitrary: damaged },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  )
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

// Values that trip validation: wrong types, negative, huge, non-integer, empty, deep.
const NASTY = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.constantFrom<Json>(-1, 0, 1.5, 1e308, 2 ** 53, -(2 ** 31), '', [], {}, null, 'a'.repeat(4096)),
)

/** Every [container, key] pair of a JSON value, depth first. */
function slots(v: Json, out: [Json[] | { [k: string]: Json }, string | number][] = []) {
  if (!v || typeof v !== 'object') return out
  for (const [k, x] of Object.entries(v)) {
    out.push([v, Array.isArray(v) ? Number(k) : k])
    slots(x, out)
  }
  return out
}

/** Seeds (JSON documents) with one to four values replaced by nasty JSON or deleted. */
export function damagedJson(seeds: readonly string[]): fc.Arbitrary<Uint8Array> {
  const change = fc.record({ pick: fc.nat(), value: NASTY, drop: fc.boolean() })
  const edited = fc
    .tuple(fc.nat(seeds.length - 1), fc.array(change, { minLength: 1, maxLength: 4 }))
    .map(([s, changes]) => {
      const doc = JSON.parse(seeds[s]) as Json
      for (const c of changes) {
        const all = slots(doc)
        if (all.length === 0) break
        const [box, key] = all[c.pick % all.length]
        if (c.drop && !Array.isArray(box)) delete box[key as string]
        else (box as Record<string | number, Json>)[key] = c.value
      }
      return Buffer.from(JSON.stringify(doc))
    })
  const texts = seeds.map((s) => Buffer.from(s))
  return fc.oneof({ weight: 3, arbitrary: edited }, { weight: 1, arbitrary: damagedBytes(texts) })
}
