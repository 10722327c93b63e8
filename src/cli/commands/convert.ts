import { existsSync, realpathSync, statfsSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve, sep } from 'node:path'
import type { LutSpec } from '../../arch/weights.js'
import { openCheckpoint } from '../../checkpoint/checkpoint.js'
import {
  convert,
  CONVERT_DEFAULTS,
  type ConvertOptions,
  type ConvertResult,
} from '../../convert/pipeline.js'
import { isForeignFolder } from '../../convert/leftovers.js'
import { formatFinding } from '../../convert/lint.js'
import { parseLutSpec, palettizer } from '../../quant/index.js'
import { AnemllError, UsageError } from '../../util/errors.js'
import { table } from '../../util/format.js'
import { formatBytes, formatDuration, Progress } from '../../util/progress.js'
import { intFlag, parseFlags, type Command } from '../command.js'

const HELP = `Usage: anemll convert --model <folder | org/name | file.gguf> --output <dir> [options]

Converts a Llama 3.x / Qwen3 / Qwen2.5 checkpoint into the CoreML parts ANEMLL's runtimes and
apps load unchanged: <prefix>_embeddings, <prefix>_FFN_PF_chunk_NNofMM (functions infer and
prefill sharing one KV-cache state), <prefix>_lm_head, plus meta.yaml and the tokenizer files.
Mirrors ANEMLL's convert_model.sh: same flags, same defaults, same step numbers.

Options:
  --model <path|id>       Hugging Face folder, Hub id (org/name[@rev]) or .gguf file (required)
  --output <dir>          output folder, created if missing (required)
  --context <n>           context length baked into the model (default 512)
  --batch <n>             prefill batch size; context must be a multiple of it (default 64)
  --lut1 <bits[,group]>   LUT for the embeddings (default none)
  --lut2 <bits[,group]>   LUT for the transformer chunks (default 4)
  --lut3 <bits[,group]>   LUT for the LM head (default 6)
                          bits: 2, 3, 4, 6, 8; group: output channels per table (default 8),
                          0/t/tensor = one table per tensor; none/no/"" = keep fp16
  --chunk <n|auto>        number of transformer chunks (default 2); auto picks the fewest that
                          keep each chunk under --max-chunk-mb
  --max-chunk-mb <mb>     chunk size target for --chunk auto (default 950: iOS; ~1900 for macOS)
  --prefix <name>         file-name prefix (default by architecture: llama, qwen, qwen25, gemma3)
  --argmax                LM head returns argmax_idx/argmax_val instead of logits (greedy only)
  --monolithic            one package (infer + prefill, embeddings to logits) instead of parts
  --restart <step>        run steps >= step (1 embeddings, 2 LM head, 3 chunks, 6 compile,
                          7 tokenizer+meta.yaml, 8 check); a rerun resumes by itself
  --only <step>           run that one step
  --fp16-scale <auto|α>   fp16 preflight: run calibration text through the fp16 model and, if the
                          residual stream outgrows fp16, scale embeddings and o_proj/down_proj by α
                          (exact for pre-norm models); or give α (0 < α <= 1) directly
  --calibrate [file]      calibration-aware LUTs: run the text (default: a built-in public-domain
                          story, apart from anemll eval's) through the fp16 model and weigh each
                          weight in the k-means by its input channel's E[x²] (docs/quantization.md)
  --seed <n>              k-means seed (default 0); same input + seed = identical files
  --no-compile            skip compiling to .mlmodelc even on macOS
  --skip-check            accepted for compatibility (anemll needs no Python dependencies)
  --dynamic-prefill-slice accepted: prefill always writes the KV cache at current_pos (the default)
  --skip-anemll-dedup     accepted: identical weights are always stored once, in every function
  --force-mlprogram-compile  passed on to coremlcompiler (--add-mlprogram-if-eligible force)
  Gemma 3-only flags of convert_model.sh (--split-rotate, --clamp, --single-cache, --chunk-no,
  --static-prefill-slice) and --allow-missing-weights are refused with an explanation.
  --quiet                 no progress bars

Examples:
  anemll convert --model ./SmolLM2-135M-Instruct --output out/smollm2 --chunk 1
  anemll convert --model Qwen/Qwen3-0.6B --output out/qwen3 --context 1024 --lut2 6,8 --argmax
  anemll convert --model model.Q8_0.gguf --output out/m --lut2 none --lut3 none`

const OPTIONS = {
  model: { type: 'string' },
  output: { type: 'string' },
  context: { type: 'string', default: String(CONVERT_DEFAULTS.context) },
  batch: { type: 'string', default: String(CONVERT_DEFAULTS.batch) },
  lut1: { type: 'string', default: '' },
  lut2: { type: 'string', default: '4' },
  lut3: { type: 'string', default: '6' },
  chunk: { type: 'string', default: String(CONVERT_DEFAULTS.chunks) },
  'max-chunk-mb': { type: 'string', default: String(CONVERT_DEFAULTS.maxChunkMb) },
  prefix: { type: 'string' },
  argmax: { type: 'boolean', default: false },
  monolithic: { type: 'boolean', default: false },
  restart: { type: 'string', default: '1' },
  only: { type: 'string' },
  seed: { type: 'string', default: '0' },
  'fp16-scale': { type: 'string' },
  calibrate: { type: 'string' },
  'no-compile': { type: 'boolean', default: false },
  'skip-check': { type: 'boolean', default: false },
  'dynamic-prefill-slice': { type: 'boolean', default: false },
  'skip-anemll-dedup': { type: 'boolean', default: false },
  'force-mlprogram-compile': { type: 'boolean', default: false },
  'split-rotate': { type: 'boolean', default: false },
  'static-prefill-slice': { type: 'boolean', default: false },
  'single-cache': { type: 'boolean', default: false },
  clamp: { type: 'string' },
  'chunk-no': { type: 'string' },
  'allow-missing-weights': { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
} as const

/** Turns flags into checked options; every problem is one line naming the flag and the fix. */
export async function optionsFromFlags(
  argv: string[],
): Promise<ConvertOptions & { quiet: boolean }> {
  const { values: v, positionals } = parseFlags('convert', {
    // A bare --calibrate (last, or before another flag) means the built-in text.
    args: argv.map((a, i) =>
      a === '--calibrate' && !/^[^-]/.test(argv[i + 1] ?? '') ? '--calibrate=' : a,
    ),
    options: OPTIONS,
    allowPositionals: true,
  })
  if (positionals.length)
    throw new UsageError(`unexpected argument '${positionals[0]}'. See 'anemll convert --help'.`)
  for (const flag of [
    'split-rotate',
    'static-prefill-slice',
    'single-cache',
    'clamp',
    'chunk-no',
  ] as const)
    if (v[flag])
      throw new UsageError(
        `--${flag} is not supported yet: Gemma 3 converts within its sliding window only (one cache, no rotation)`,
      )
  if (v['allow-missing-weights'])
    throw new UsageError(
      '--allow-missing-weights is not supported: every weight the architecture needs must be in the checkpoint',
    )
  if (!v.model) throw new UsageError("--model is required. See 'anemll convert --help'.")
  if (!v.output) throw new UsageError("--output is required. See 'anemll convert --help'.")
  const context = intFlag('context', v.context, 1)
  const batch = intFlag('batch', v.batch, 1)
  if (context % batch)
    throw new UsageError(
      `--context ${context} is not a multiple of --batch ${batch}; use e.g. --batch ${gcdBatch(context, batch)}`,
    )
  if (context > 16384)
    throw new UsageError(`--context ${context} exceeds the ANE's 16384 limit per dimension`)
  const chunks = v.chunk === 'auto' ? 'auto' : intFlag('chunk', v.chunk, 1)
  const model = await resolveModelArg(v.model)
  const output = resolve(v.output)
  checkOutput(v.output, output, model)
  return {
    model,
    output,
    context,
    batch,
    lut1: parseLutSpec(v.lut1, '--lut1'),
    lut2: parseLutSpec(v.lut2, '--lut2'),
    lut3: parseLutSpec(v.lut3, '--lut3'),
    chunks,
    maxChunkMb: intFlag('max-chunk-mb', v['max-chunk-mb'], 1),
    prefix: v.prefix,
    argmax: v.argmax,
    monolithic: v.monolithic,
    restart: intFlag('restart', v.restart, 1),
    only: v.only === undefined ? undefined : intFlag('only', v.only, 1),
    seed: intFlag('seed', v.seed, 0),
    compile: v['no-compile'] ? 'never' : v['force-mlprogram-compile'] ? 'force' : 'auto',
    fp16Scale: fp16ScaleFlag(v['fp16-scale']),
    ...(v.calibrate === undefined ? {} : { calibrate: calibrateFlag(v.calibrate) }),
    quiet: v.quiet,
  }
}

/** `--calibrate` with no value: the built-in text; else a text file that must exist now. */
function calibrateFlag(v: string): string | true {
  if (v === '') return true
  if (!existsSync(v) || !statSync(v).isFile())
    throw new UsageError(
      `--calibrate ${v}: no such text file; give a UTF-8 text, or no value for the built-in one`,
    )
  return resolve(v)
}

function fp16ScaleFlag(v: string | undefined): 'auto' | number | undefined {
  if (v === undefined || v === 'auto') return v
  const a = Number(v)
  if (!(a > 0 && a <= 1))
    throw new UsageError(`--fp16-scale must be 'auto' or a number in (0, 1], got '${v}'`)
  return a
}

const gcdBatch = (c: number, b: number): number => {
  for (let x = b; x > 0; x--) if (c % x === 0) return x
  return 1
}

/** A local folder or .gguf as is; anything else is looked up as a Hugging Face Hub id. */
async function resolveModelArg(spec: string): Promise<string> {
  if (existsSync(spec)) return resolve(spec)
  if (/^[\w.-]+\/[\w.-]+(@[\w./-]+)?$/.test(spec)) {
    const { resolveModel } = await import('../../checkpoint/resolve.js')
    try {
      return (await resolveModel(spec)).path
    } catch (err) {
      // `models/stories999` may be a mistyped local path as much as a Hub id: say both.
      if (!(err instanceof AnemllError)) throw err
      throw new UsageError(
        `--model ${spec}: no such local folder or file, and as a Hub id: ${err.message}`,
      )
    }
  }
  throw new UsageError(`--model ${spec}: no such folder or file, and not a Hub id (org/name)`)
}

/** `path` with symlinks resolved, also when its last parts do not exist yet. */
function realPath(path: string): string {
  const missing: string[] = []
  let p = path
  while (!existsSync(p) && dirname(p) !== p) {
    missing.unshift(basename(p))
    p = dirname(p)
  }
  return join(realpathSync(p), ...missing)
}

/**
 * The output may not be the input file, nor lie inside an input model folder (a GGUF's folder is
 * not the model's: the file alone is protected); symlinks count as where they point.
 */
function checkOutput(flag: string, output: string, model: string): void {
  const out = realPath(output)
  const src = realpathSync(model)
  const inside = statSync(src).isDirectory()
    ? out === src || out.startsWith(src + sep)
    : out === src
  if (inside)
    throw new UsageError(
      `--output ${flag} is ${out === src ? 'the model' : 'inside the model folder'} ${src}; choose a folder outside it`,
    )
  for (let p = output; dirname(p) !== p; p = dirname(p))
    if (existsSync(p) && !statSync(p).isDirectory())
      throw new UsageError(
        `--output ${flag}: ${p} is a file, not a folder; choose another --output`,
      )
}

/** Refuses to start when the output disk cannot hold the estimated parts. */
async function checkDisk(o: ConvertOptions): Promise<void> {
  const ckpt = await openCheckpoint(o.model)
  const params = ckpt
    .tensorNames()
    .reduce((n, t) => n + ckpt.tensorInfo(t).shape.reduce((a, b) => a * b, 1), 0)
  const bits = (l?: LutSpec) => (l ? l.bits : 16)
  const need = (params * Math.max(bits(o.lut1), bits(o.lut2), bits(o.lut3))) / 8
  let existing = o.output // the output and its missing parents are created by the conversion
  while (!existsSync(existing)) existing = dirname(existing)
  const fs = statfsSync(existing)
  const free = fs.bavail * fs.bsize
  if (free < need * 1.1)
    throw new UsageError(
      `not enough disk space in ${o.output}: about ${formatBytes(need)} needed, ${formatBytes(free)} free`,
    )
}

export function renderResult(r: ConvertResult): string {
  const rows = [['part', 'size', 'LUT', 'SQNR dB (min / mean)', 'time']]
  for (const p of r.parts) {
    const sq = p.quant.map((q) => q.sqnrDb)
    const sqnr = sq.length
      ? `${Math.min(...sq).toFixed(1)} / ${(sq.reduce((a, b) => a + b, 0) / sq.length).toFixed(1)}`
      : '-'
    rows.push([
      p.file,
      formatBytes(p.bytes),
      p.lutBits ? String(p.lutBits) : 'fp16',
      p.skipped ? '(kept)' : sqnr,
      p.skipped ? 'done before' : `${p.seconds.toFixed(1)}s`,
    ])
  }
  const errors = r.findings.filter((f) => f.severity === 'error').length
  return [
    '',
    table(rows, '  '),
    '',
    `  ${r.chunks} chunk${r.chunks > 1 ? 's' : ''} · ${formatDuration(r.seconds)} · ANE check: ${r.findings.length ? `${errors} error(s), ${r.findings.length - errors} warning(s)` : 'ok'}`,
    ...r.findings.slice(0, 20).map((f) => `  ${formatFinding(f)}`),
    ...(r.fp16
      ? [
          `  fp16 preflight: residual peak ${r.fp16.before.overflowAt ? 'overflow' : r.fp16.before.peak.toFixed(0)} → ${r.fp16.after.peak.toFixed(0)} (α = ${r.fp16.scale})`,
        ]
      : []),
    `  output: ${r.output}/meta.yaml`,
  ].join('\n')
}

export const convertCommand: Command = {
  name: 'convert',
  summary: 'convert a Hugging Face / GGUF model into ANE-ready CoreML parts (ANEMLL layout)',
  help: HELP,
  async run(argv) {
    const o = await optionsFromFlags(argv)
    await checkDisk(o)
    if (isForeignFolder(o.output))
      process.stderr.write(
        `anemll convert: warning: --output ${o.output} already holds files that no conversion made; they are left as they are\n`,
      )
    let bar: { label: string; progress: Progress } | undefined
    const result = await convert(
      { ...o, commandLine: `anemll convert ${argv.join(' ')}` },
      {
        step(n, title) {
          bar?.progress.finish()
          bar = undefined
          if (!o.quiet) process.stderr.write(`[${n}] ${title}\n`)
        },
        bytes(written, total, label) {
          if (o.quiet) return
          // one bar per part: two chunks of the same size are two bars
          if (bar?.label !== label) {
            bar?.progress.finish()
            bar = { label, progress: new Progress({ label, total, unit: 'bytes' }) }
          }
          bar.progress.update(Math.min(written, total))
        },
        note: (t) => o.quiet || process.stderr.write(`    ${t}\n`),
      },
      palettizer(o.seed),
    )
    bar?.progress.finish()
    const errors = result.findings.some((f) => f.severity === 'error')
    // --quiet: only what needs attention (the ANE check's findings)
    if (!o.quiet) console.log(renderResult(result))
    else for (const f of result.findings) console.log(formatFinding(f))
    return errors ? 1 : 0
  },
}
