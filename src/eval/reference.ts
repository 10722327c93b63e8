// Where `anemll eval` gets its reference: another conversion (a folder with meta.yaml), a logits
// file some other tool wrote, or a checkpoint converted to fp16 once and cached.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { resolveModel } from '../checkpoint/resolve.js'
import { convert, convertOptions, type ConvertReporter } from '../convert/pipeline.js'
import { envVar } from '../util/env.js'
import { FormatError } from '../util/errors.js'
import { VERSION } from '../version.js'
import type { ReferenceLogits } from './evaluate.js'

/**
 * A logits file: JSON `{ "ids": [...], "logits": "<file>.f32", "shape": [positions, vocab] }`
 * (the .f32 file beside it: positions × vocab little-endian float32, row i after ids[0..i]),
 * as test/fixtures/eval/make_eval_goldens.py writes from transformers.
 */
export function readReferenceLogits(path: string): ReferenceLogits {
  let j: { ids?: unknown; logits?: unknown; shape?: unknown; source?: unknown }
  try {
    j = JSON.parse(readFileSync(path, 'utf8')) as typeof j
  } catch (err) {
    throw new FormatError(path, `not a logits file: ${(err as Error).message}`)
  }
  const ids = j.ids
  if (!Array.isArray(ids) || !ids.length || !ids.every((x) => Number.isInteger(x) && x >= 0))
    throw new FormatError(path, '"ids" must be a non-empty list of token ids')
  const shape = j.shape
  if (
    !Array.isArray(shape) ||
    shape.length !== 2 ||
    shape[0] !== ids.length ||
    !Number.isInteger(shape[1]) ||
    shape[1] < 1
  )
    throw new FormatError(path, `"shape" must be [${ids.length} (one row per id), vocab]`)
  if (typeof j.logits !== 'string') throw new FormatError(path, '"logits" must name the .f32 file')
  const file = resolve(dirname(path), j.logits)
  const [positions, vocab] = shape as [number, number]
  const want = positions * vocab * 4
  const size = statSync(file, { throwIfNoEntry: false })?.size
  if (size !== want)
    throw new FormatError(
      file,
      `${size ?? 'missing'} bytes, expected ${want} (${positions} × ${vocab} float32)`,
    )
  const buf = readFileSync(file)
  const all = new Float32Array(buf.buffer, buf.byteOffset, want / 4).slice()
  return {
    label: typeof j.source === 'string' ? `${j.source} (${path})` : path,
    ids: ids as number[],
    logits: Array.from({ length: positions }, (_, i) => all.subarray(i * vocab, (i + 1) * vocab)),
  }
}

/** What `--reference` names. */
export type ReferenceSpec =
  | { kind: 'conversion'; path: string }
  | { kind: 'logits'; path: string }
  | { kind: 'checkpoint'; spec: string }

export function referenceKind(spec: string): ReferenceSpec {
  const st = statSync(spec, { throwIfNoEntry: false })
  if (st?.isFile() && spec.endsWith('.json')) return { kind: 'logits', path: spec }
  if (st?.isFile() && /\.ya?ml$/.test(spec)) return { kind: 'conversion', path: spec }
  if (st?.isDirectory() && existsSync(join(spec, 'meta.yaml')))
    return { kind: 'conversion', path: spec }
  return { kind: 'checkpoint', spec }
}

/**
 * The fp16 conversion of a checkpoint at the evaluated model's context and batch, made once
 * into ${ANEMLL_CACHE:-~/.cache/anemll}/eval-reference/<key> (a temp folder renamed at the end)
 * and reused after.
 */
export async function fp16Reference(
  spec: string,
  shape: { context: number; batch: number },
  report: ConvertReporter,
): Promise<string> {
  const model = await resolveModel(spec)
  const key = createHash('sha256')
    .update(JSON.stringify({ path: model.hubId ?? model.path, ...shape, VERSION }))
    .digest('hex')
    .slice(0, 16)
  const root = join(envVar('ANEMLL_CACHE') ?? join(homedir(), '.cache/anemll'), 'eval-reference')
  const dir = join(root, key)
  if (existsSync(join(dir, 'meta.yaml'))) return dir
  const tmp = `${dir}.tmp-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  try {
    await convert(
      convertOptions(model.path, tmp, { ...shape, chunks: 'auto', compile: 'never' }),
      report,
    )
    renameSync(tmp, dir)
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true })
    throw err
  }
  return dir
}
