// stories260K conversions shared by the engine tests: converted once per test process into a
// temp folder (removed at exit), C = 64 and B = 16 so prompts cross batch boundaries and
// generations fill the window quickly.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { convert, type ConvertOptions } from '../../src/convert/pipeline.js'
import { loadModel, type LoadModelOptions, type Model } from '../../src/generate/engine.js'
import { parseLutSpec } from '../../src/quant/spec.js'

export const ROOT = join(import.meta.dirname, '../..')
export const SHARED = process.env.ANEMLL_SHARED ?? join(ROOT, '../shared')
export const STORIES = join(SHARED, 'models/stories260K')
export const CONTEXT = 64
export const BATCH = 16

export interface Reference {
  greedy_from_bos: { tokens: number[]; text: string }
  prompt: {
    text: string
    ids: number[]
    next_token_logits: number[]
    greedy_continuation_20: number[]
    greedy_continuation_text: string
  }
  bos_only: { ids: number[]; next_token_logits: number[] }
  check_sequence: { ids: number[]; last_position_logits_first8: number[] }
}

export const reference = (): Reference =>
  JSON.parse(readFileSync(join(STORIES, 'reference_greedy.json'), 'utf8')) as Reference

const tmp = mkdtempSync(join(tmpdir(), 'anemll-generate-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

export type Variant = 'fp16' | 'chunk2' | 'monolithic' | 'argmax' | 'lut' | 'ctx256'
const VARIANTS: Record<Variant, Partial<ConvertOptions>> = {
  fp16: {},
  chunk2: { chunks: 2 },
  monolithic: { monolithic: true },
  argmax: { argmax: true },
  // ANEMLL's default recipe: LUT4 FFN, LUT6 head (its default group size)
  lut: { lut2: parseLutSpec('4', '--lut2'), lut3: parseLutSpec('6', '--lut3') },
  // room for multi-turn conversations (the server tests)
  ctx256: { context: 256 },
}

const converted = new Map<string, Promise<string>>()

/** The folder of a stories260K conversion (fp16 weights unless `extra` says otherwise). */
export function convertedDir(variant: Variant): Promise<string> {
  let p = converted.get(variant)
  if (!p) {
    const output = join(tmp, variant)
    p = convert(
      {
        model: STORIES,
        output,
        context: CONTEXT,
        batch: BATCH,
        chunks: 1,
        maxChunkMb: 950,
        argmax: false,
        monolithic: false,
        restart: 1,
        seed: 0,
        compile: 'never',
        ...VARIANTS[variant],
      },
      { step: () => {} },
    ).then(() => output)
    converted.set(variant, p)
  }
  return p
}

const models = new Map<string, Promise<Model>>()

/** A loaded stories260K conversion, shared within the test process. */
export function storiesModel(
  variant: Variant = 'fp16',
  opts: LoadModelOptions = {},
): Promise<Model> {
  const key = `${variant} ${JSON.stringify(opts)}`
  let m = models.get(key)
  if (!m) models.set(key, (m = convertedDir(variant).then((dir) => loadModel(dir, opts))))
  return m
}

/**
 * A chat template for the story model (it has none): `role: content` lines, then `assistant:`.
 * Enough to drive templated multi-turn sessions through a real model.
 */
export const TEST_TEMPLATE =
  '{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}'

/** The fp16 conversion with TEST_TEMPLATE in its tokenizer_config.json. */
export async function templatedModel(opts: LoadModelOptions = {}): Promise<Model> {
  const dir = join(tmp, 'templated')
  if (!converted.has('templated')) {
    cpSync(await convertedDir('fp16'), dir, { recursive: true })
    const file = join(dir, 'tokenizer_config.json')
    const config = JSON.parse(readFileSync(file, 'utf8'))
    rmSync(file) // copied read-only from the shared folder
    writeFileSync(file, JSON.stringify({ ...config, chat_template: TEST_TEMPLATE }))
    converted.set('templated', Promise.resolve(dir))
  }
  return loadModel(dir, opts)
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]))
  return d
}

/** Logits of each generated token, from `returnLogits` events. */
export async function generateWithLogits(
  model: Model,
  input: Parameters<Model['generate']>[0],
  opts: Parameters<Model['generate']>[1] = {},
): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  const tokens: number[] = []
  const logits: Float32Array[] = []
  for await (const ev of model.generate(input, { ...opts, returnLogits: true }))
    if (ev.type === 'token') {
      tokens.push(ev.id)
      if (ev.logits) logits.push(ev.logits)
    }
  return { tokens, logits }
}

/** A fixed TinyStories-like text (the model did not write it). */
export const TEXT =
  'One day, a little boy named Tom went to the park with his mom. He saw a big tree and a small ' +
  'dog. The dog was sad because it lost its ball.'
