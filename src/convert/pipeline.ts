// `anemll convert`: checkpoint → ANEMLL's parts + meta.yaml, in ANEMLL's step order so
// `--restart` / `--only` mean the same thing. Every file is written to a temp name and renamed,
// finished steps are recorded, and a rerun with the same options resumes after the last one.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { archFor } from '../arch/registry.js'
import {
  chunkModel,
  embeddingsModel,
  lmHeadModel,
  lmHeadSplit,
  monolithicModel,
  type PartOptions,
} from './parts.js'
import { WeightBank, type LutSpec, type QuantReport, type Quantizer } from '../arch/weights.js'
import { openCheckpoint, type Checkpoint } from '../checkpoint/checkpoint.js'
import type { CoreMLModel } from '../package/model.js'
import { writePackage } from '../package/write.js'
import { VERSION } from '../version.js'
import { autoChunks } from './chunking.js'
import { compilePackages } from './compile.js'
import { removeLeftovers, STATE_FILE } from './leftovers.js'
import { lintPackages, type LintFinding } from './lint.js'
import { metaYaml, modelDisplayName } from './meta.js'
import { partNames } from './names.js'
import { checkWeights } from './weights-check.js'
import { writeTokenizerFiles } from './tokenizer-files.js'
import { calibrate } from './calibrate.js'
import { chooseScale, measureResidualPeak, TARGET_PEAK, type PreflightResult } from './preflight.js'
import { loadTokenizer } from '../tokenizer/load.js'
import { lutPolicy, type LutSpec as QuantLutSpec } from '../quant/index.js'
import { UsageError } from '../util/errors.js'

export interface ConvertOptions {
  /** Local Hugging Face folder or .gguf file (Hub ids are resolved before). */
  model: string
  output: string
  context: number
  batch: number
  lut1?: LutSpec
  lut2?: LutSpec
  lut3?: LutSpec
  chunks: number | 'auto'
  maxChunkMb: number
  prefix?: string
  argmax: boolean
  monolithic: boolean
  restart: number
  only?: number
  /** k-means seed: the same input and seed give byte-identical packages. */
  seed: number
  /** Compile with xcrun coremlcompiler: 'auto' on macOS only. */
  compile: 'auto' | 'never' | 'force'
  /** Original command line, recorded in meta.yaml's troubleshooting comments. */
  commandLine?: string
  /** fp16 remedy: 'auto' runs the preflight and scales when needed; a number is α itself. */
  fp16Scale?: 'auto' | number
  /** Calibration-aware LUTs (convert/calibrate.ts): a text file, or true for the built-in text. */
  calibrate?: string | true
}

/** ANEMLL's convert_model.sh defaults (the CLI's flags default to these too). */
export const CONVERT_DEFAULTS = {
  context: 512,
  batch: 64,
  chunks: 2,
  maxChunkMb: 950,
  argmax: false,
  monolithic: false,
  restart: 1,
  seed: 0,
  compile: 'auto',
} as const satisfies Partial<ConvertOptions>

/** Options for `model` → `output` with the defaults, overridden by `extra`. */
export const convertOptions = (
  model: string,
  output: string,
  extra: Partial<ConvertOptions> = {},
): ConvertOptions => ({
  ...CONVERT_DEFAULTS,
  model,
  output,
  ...extra,
})

export interface PartResult {
  step: number
  file: string
  bytes: number
  lutBits?: number
  seconds: number
  quant: QuantReport[]
  skipped?: boolean
}

export interface ConvertResult {
  output: string
  /** Residual-stream peaks of the fp16 preflight, and the α applied (1 = none). */
  fp16?: { before: PreflightResult; after: PreflightResult; scale: number }
  parts: PartResult[]
  chunks: number
  findings: LintFinding[]
  compiled: boolean
  compileNote?: string
  seconds: number
}

/** Callbacks for progress bars and step lines. */
export interface ConvertReporter {
  step(n: number, title: string): void
  /** Bytes of weights written so far for the current part. */
  bytes?(written: number, total: number, label: string): void
  note?(text: string): void
}

const STEPS = { embeddings: 1, lmHead: 2, chunks: 3, compile: 6, tokenizer: 7, check: 8 }

interface Saved {
  fingerprint: string
  done: Record<string, PartResult[]>
}

function fingerprint(o: ConvertOptions, chunks: number): string {
  const { restart: _r, only: _o, commandLine: _c, compile: _k, ...rest } = o
  return createHash('sha256')
    .update(JSON.stringify({ ...rest, chunks, VERSION }))
    .digest('hex')
    .slice(0, 16)
}

/** Estimated weight bytes of a part given its parameter count and LUT. */
const estimate = (params: number, lut?: LutSpec) => params * (lut ? lut.bits / 8 : 2)

export async function convert(
  o: ConvertOptions,
  report: ConvertReporter,
  quantize?: Quantizer,
): Promise<ConvertResult> {
  const t0 = performance.now()
  const ckpt = await openCheckpoint(o.model)
  const cfg = ckpt.config
  const arch = archFor(cfg.model_type)
  checkWeights(arch, ckpt)
  const prefix = o.prefix ?? arch.prefix
  const chunks =
    o.chunks === 'auto' ? autoChunks(arch, cfg, o.lut2?.bits ?? 16, o.maxChunkMb) : o.chunks
  if (!o.monolithic && chunks > cfg.num_hidden_layers)
    throw new UsageError(
      `--chunk ${chunks} is more than the model's ${cfg.num_hidden_layers} layers; use --chunk ${cfg.num_hidden_layers} at most`,
    )
  const last = o.only ?? o.restart
  if (last > STEPS.check)
    throw new UsageError(
      `--${o.only !== undefined ? 'only' : 'restart'} ${last}: there is no such step (the steps are 1-${STEPS.check})`,
    )
  const names = {
    embeddings: partNames.embeddings(prefix, o.lut1),
    lmHead: partNames.lmHead(prefix, o.lut3),
    chunk: (i: number) => partNames.chunk(prefix, i, chunks, o.lut2),
    monolithic: partNames.monolithic(prefix, o.lut2),
  }
  const steps: [string, number][] = o.monolithic
    ? [[names.monolithic, STEPS.embeddings]]
    : [
        [names.embeddings, STEPS.embeddings],
        [names.lmHead, STEPS.lmHead],
        ...Array.from({ length: chunks }, (_, i): [string, number] => [
          names.chunk(i + 1),
          STEPS.chunks,
        ]),
      ]
  const made = (name: string) =>
    existsSync(join(o.output, `${name}.mlpackage`)) ||
    existsSync(join(o.output, `${name}.mlmodelc`))
  const runs = (step: number) => (o.only !== undefined ? step === o.only : step >= o.restart)
  // Parts this run does not write must be there already: steps 6-8 and meta.yaml name them all.
  const needed = o.only === undefined || o.only > STEPS.chunks
  const missing = steps.find(([n, step]) => needed && !runs(step) && !made(n))
  if (missing)
    throw new UsageError(
      `--${o.only !== undefined ? 'only' : 'restart'} ${last}: ${missing[0]}.mlpackage (step ${missing[1]}) is not in ${o.output}; run from --restart ${missing[1]}`,
    )
  mkdirSync(o.output, { recursive: true })
  const statePath = join(o.output, STATE_FILE)
  const fp = fingerprint(o, chunks)
  const { saved, previous } = loadState(statePath, fp)
  const save = () => {
    writeFileSync(`${statePath}.partial`, JSON.stringify(saved, null, 2))
    renameSync(`${statePath}.partial`, statePath)
  }
  // The same rule coremltools applies: rank ≥ 2, more than 2048 weights, group size divides C_out.
  const bank = new WeightBank(ckpt, quantize, (name, shape, spec) =>
    lutPolicy(name, shape, 'ffn', { ffn: spec as QuantLutSpec }),
  )
  const parts: PartOptions = {
    ckpt,
    arch,
    weights: bank,
    context: o.context,
    batch: o.batch,
    lut: { embeddings: o.lut1, ffn: o.lut2, lmHead: o.lut3 },
    argmax: o.argmax,
  }
  let fp16: ConvertResult['fp16']
  if (o.fp16Scale !== undefined) {
    fp16 = await fp16Remedy(parts, o.fp16Scale, report)
    parts.residualScale = fp16.scale
  }
  if (o.calibrate)
    bank.importance = await calibrate(parts, o.calibrate === true ? undefined : o.calibrate, (t) =>
      report.note?.(t),
    )
  const results: PartResult[] = []
  const packagePaths: string[] = []

  /** Writes one part unless a previous run with the same options already did. */
  const part = (
    step: number,
    name: string,
    make: () => CoreMLModel,
    lut: LutSpec | undefined,
    params: number,
  ) => {
    const file = `${name}.mlpackage`
    const path = join(o.output, file)
    packagePaths.push(path)
    const prev = saved.done[file]?.[0]
    const forced = o.only === step || (o.restart > 1 && step >= o.restart)
    if (prev && existsSync(path) && !forced) {
      results.push({ ...prev, skipped: true })
      return
    }
    if (!runs(step)) return
    const t = performance.now()
    const before = bank.quantReports.length
    const total = estimate(params, lut)
    const w = writePackage(make(), path, {
      overwrite: true,
      onBlob: (bytes) => report.bytes?.(bytes, total, file),
    })
    const r: PartResult = {
      step,
      file,
      bytes: w.weightBytes,
      lutBits: lut?.bits,
      seconds: (performance.now() - t) / 1000,
      quant: bank.quantReports.slice(before),
    }
    results.push(r)
    saved.done[file] = [r]
    save()
  }

  const L = cfg.num_hidden_layers
  const H = cfg.hidden_size
  const [V] = bank.shapeOf('model.embed_tokens.weight')
  const layerParams = arch.layerParameters(cfg)
  // Parts of an earlier conversion with other options go only when this one starts from scratch.
  const fresh = o.only === undefined && o.restart === 1
  const removed = removeLeftovers(
    o.output,
    fresh ? previous : [],
    steps.map(([n]) => `${n}.mlpackage`),
  )
  if (removed.length)
    report.note?.(`removed what an earlier conversion left: ${removed.join(', ')}`)
  if (o.monolithic) {
    if (runs(STEPS.embeddings) || runs(STEPS.chunks))
      report.step(1, 'Convert monolithic model (infer + prefill)')
    part(
      STEPS.embeddings,
      names.monolithic,
      () => monolithicModel(parts),
      o.lut2,
      L * layerParams + 2 * V * H,
    )
  } else {
    if (runs(STEPS.embeddings)) report.step(STEPS.embeddings, 'Convert embeddings')
    part(STEPS.embeddings, names.embeddings, () => embeddingsModel(parts), o.lut1, V * H)
    if (runs(STEPS.lmHead))
      report.step(
        STEPS.lmHead,
        `Convert LM head (${arch.splitLmHead} splits${o.argmax ? ', argmax in model' : ''})`,
      )
    part(STEPS.lmHead, names.lmHead, () => lmHeadModel(parts), o.lut3, V * H)
    if (runs(STEPS.chunks))
      report.step(
        STEPS.chunks,
        `Convert ${chunks} chunk${chunks > 1 ? 's' : ''} (infer + prefill in one package, steps 3-5)`,
      )
    for (let i = 0; i < chunks; i++)
      part(
        STEPS.chunks,
        names.chunk(i + 1),
        () => chunkModel(parts, i, chunks),
        o.lut2,
        (L / chunks) * layerParams,
      )
  }

  let compiled = false
  let compileNote: string | undefined
  if (runs(STEPS.compile)) {
    report.step(STEPS.compile, 'Compile to .mlmodelc')
    const c = await compilePackages(packagePaths, o.output, o.compile)
    compiled = c.compiled
    compileNote = c.note
    if (c.note) report.note?.(c.note)
  }

  if (runs(STEPS.tokenizer)) {
    report.step(STEPS.tokenizer, 'Copy tokenizer, write config.json and meta.yaml')
    writeTokenizerFiles(ckpt, o.output)
    writeMinimalConfig(ckpt, arch.tokenizerClass, o.output)
    const mono = o.monolithic
    const yaml = metaYaml({
      modelName: modelDisplayName(o.model),
      architecture: cfg.model_type,
      context: o.context,
      batch: o.batch,
      chunks,
      prefix,
      lut: { embeddings: o.lut1, ffn: o.lut2, lmHead: o.lut3 },
      splitLmHead: arch.splitLmHead,
      vocabSize: cfg.vocab_size,
      lmHeadChunkSizes: lmHeadSplit(cfg.vocab_size, arch.splitLmHead),
      argmax: o.argmax,
      extra: arch.metaParameters?.(cfg),
      files: mono
        ? { monolithic: `${names.monolithic}.mlmodelc` }
        : {
            embeddings: `${names.embeddings}.mlmodelc`,
            lmHead: `${names.lmHead}.mlmodelc`,
            ffn: `${names.chunk(1)}.mlmodelc`,
          },
      conversion: {
        model_path: o.model,
        output_dir: o.output,
        ...(o.commandLine ? { command_line: o.commandLine } : {}),
        context_length: o.context,
        batch_size: o.batch,
        num_chunks: chunks,
        lut_part1: o.lut1 ? `${o.lut1.bits},${o.lut1.groupSize}` : 'none',
        lut_part2: o.lut2 ? `${o.lut2.bits},${o.lut2.groupSize}` : 'none',
        lut_part3: o.lut3 ? `${o.lut3.bits},${o.lut3.groupSize}` : 'none',
        prefix,
        architecture: cfg.model_type,
        argmax_in_model: o.argmax,
        monolithic: mono,
        ...(fp16 && fp16.scale !== 1 ? { fp16_scale: fp16.scale } : {}),
      },
    })
    writeFileSync(join(o.output, 'meta.yaml.partial'), yaml)
    renameSync(join(o.output, 'meta.yaml.partial'), join(o.output, 'meta.yaml'))
  }

  let findings: LintFinding[] = []
  if (runs(STEPS.check)) {
    report.step(STEPS.check, 'Check ANE fitness')
    findings = lintPackages(packagePaths.filter((p) => existsSync(p)))
  }
  return {
    output: o.output,
    parts: results,
    chunks,
    findings,
    compiled,
    compileNote,
    fp16,
    seconds: (performance.now() - t0) / 1000,
  }
}

const CALIBRATION =
  'The Neural Engine runs sixteen-bit floats. Once upon a time, in 1984, a curious engineer asked: ' +
  "how large can a transformer's residual stream grow? def f(x): return x * 2  # 42, 3.14159, ∑"

/** The calibration text as token ids; a fixed id pattern for checkpoints without a tokenizer. */
async function calibrationIds(parts: PartOptions): Promise<number[]> {
  const n = Math.min(parts.context, 64)
  try {
    const tok = await loadTokenizer(parts.ckpt.tokenizerSource)
    return tok.encode(CALIBRATION, { addSpecialTokens: true }).slice(0, n)
  } catch {
    const v = parts.ckpt.config.vocab_size
    return Array.from({ length: n }, (_, i) => (i * 7919 + 13) % v)
  }
}

/** Runs the preflight (for 'auto') and picks α, halving until the residual stream fits fp16. */
async function fp16Remedy(parts: PartOptions, setting: 'auto' | number, report: ConvertReporter) {
  const ids = await calibrationIds(parts)
  const measure = (scale: number) => measureResidualPeak({ ...parts, residualScale: scale }, ids)
  const before = measure(1)
  let scale = typeof setting === 'number' ? setting : 1
  let after = scale === 1 ? before : measure(scale)
  if (setting === 'auto') {
    while (!(after.peak <= TARGET_PEAK) && scale > 2 ** -16) {
      scale = Number.isFinite(after.peak) ? scale * chooseScale(after.peak) : scale / 4
      after = measure(scale)
    }
  }
  const show = (r: PreflightResult) =>
    r.overflowAt ? `overflow (inf) at ${r.overflowAt}` : r.peak.toFixed(0)
  report.note?.(
    `fp16 preflight: residual peak ${show(before)}${scale !== 1 ? ` → ${show(after)} with α = ${scale}` : ' (fits fp16, no scaling)'}`,
  )
  return { before, after, scale }
}

/** The saved state of the same options, and the parts a run with other options recorded. */
function loadState(path: string, fp: string): { saved: Saved; previous: string[] } {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Saved
    if (s.done && typeof s.done === 'object')
      return s.fingerprint === fp
        ? { saved: s, previous: [] }
        : { saved: { fingerprint: fp, done: {} }, previous: Object.keys(s.done) }
  } catch {
    // no state, or an unreadable one: start over
  }
  return { saved: { fingerprint: fp, done: {} }, previous: [] }
}

/** ANEMLL's two-key config.json (tokenizer class, model type), plus the eos ids Swift looks for. */
function writeMinimalConfig(ckpt: Checkpoint, tokenizerClass: string, out: string): void {
  const path = join(out, 'config.json')
  if (existsSync(path)) return
  const cfg = {
    tokenizer_class: tokenizerClass,
    model_type: ckpt.config.model_type,
    eos_token_id: ckpt.generationConfig.eos_token_id.length
      ? ckpt.generationConfig.eos_token_id
      : ckpt.config.eos_token_id,
  }
  writeFileSync(`${path}.partial`, `${JSON.stringify(cfg, null, 2)}\n`)
  renameSync(`${path}.partial`, path)
}
