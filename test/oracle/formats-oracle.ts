// Runs formats_oracle.py (coremltools as the reference for src/formats) from the oracle tests.
import assert from 'node:assert/strict'
import { runPython } from './python.js'

/** One result per request; a failed request carries `error` instead. */
export type OracleResult = Record<string, unknown> & { error?: string }

/** Runs a batch of formats_oracle.py requests in one Python process (imports cost seconds). */
export function formatsOracleRaw(requests: object[]): OracleResult[] {
  const r = runPython('formats_oracle.py', [], { input: JSON.stringify(requests) })
  const last = r.stdout.trim().split('\n').pop() ?? ''
  assert.ok(
    r.status === 0 && last.startsWith('['),
    `formats_oracle.py failed (${r.status}): ${r.stderr}`,
  )
  return JSON.parse(last) as OracleResult[]
}

/** Like formatsOracleRaw, but every request must succeed. */
export function formatsOracle(requests: object[]): OracleResult[] {
  const results = formatsOracleRaw(requests)
  results.forEach((res, i) => assert.equal(res.error, undefined, `request ${i}: ${res.error}`))
  return results
}

/**
 * Differences between two proto3-JSON trees. Numbers compare as float32, because Python prints
 * a float field's shortest float32 form and protobuf-es its exact double value.
 */
export function jsonDiff(a: unknown, b: unknown, path = '', out: string[] = []): string[] {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Math.fround(a) !== Math.fround(b)) out.push(`${path}: ${a} != ${b}`)
  } else if (a && b && typeof a === 'object' && typeof b === 'object') {
    if (Array.isArray(a) !== Array.isArray(b)) out.push(`${path}: array vs object`)
    const ka = a as Record<string, unknown>
    const kb = b as Record<string, unknown>
    for (const k of new Set([...Object.keys(ka), ...Object.keys(kb)])) {
      jsonDiff(ka[k], kb[k], `${path}.${k}`, out)
    }
  } else if (a !== b) {
    out.push(`${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`)
  }
  return out
}
