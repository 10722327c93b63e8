// bench/generate/speed's models, made once and cached: the F16 GGUF (make-f16-gguf.py) and our
// conversions, all under one folder keyed by the Q4_1 fixture's size and mtime, each conversion
// by its options and anemll's version. Conversions run in a child process (bench/convert/child.ts)
// so their memory stays out of the bench's RSS figures.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { VERSION } from '../../src/version.js'
import { findPython } from '../../test/oracle/python.js'

/** An optional piece the bench can do without (its pair is skipped). */
export class MissingPiece extends Error {}

/** What to convert: the GGUF ('q4' the fixture, 'f16' made from it) and the LUT specs. */
export interface PairSpec {
  src: 'q4' | 'f16'
  lut2: string
  lut3: string
}

const secs = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 })
  if (r.status !== 0) throw new Error(`${basename(cmd)} ${args.join(' ')} failed:\n${r.stderr}`)
}

export interface BenchOptions {
  /** Context length of our conversions. */
  context: number
  /** Make everything again (once per run). */
  fresh: boolean
  log: (s: string) => void
}

export class BenchModels {
  readonly q4: string
  readonly dir: string
  readonly #opts: BenchOptions
  readonly #made = new Set<string>()

  constructor(q4: string, cacheDir: string, opts: BenchOptions) {
    this.q4 = q4
    const st = statSync(q4)
    this.dir = join(cacheDir, `${basename(q4, '.gguf')}-${st.size}-${Math.floor(st.mtimeMs)}`)
    this.#opts = opts
  }

  /**
   * Runs `make` into `<out>.tmp-<pid>` and renames it to `out`, unless `out` exists (and --fresh
   * did not ask for a new one this run): nothing half-made is ever cached.
   */
  #cached(out: string, make: (tmp: string) => void): string {
    if (existsSync(out) && (!this.#opts.fresh || this.#made.has(out))) return out
    mkdirSync(this.dir, { recursive: true })
    const tmp = `${out}.tmp-${process.pid}`
    rmSync(tmp, { recursive: true, force: true })
    try {
      make(tmp)
      rmSync(out, { recursive: true, force: true })
      renameSync(tmp, out)
      this.#made.add(out)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
    return out
  }

  /** The F16 GGUF made from the Q4_1 one. @throws MissingPiece without the oracle Python */
  f16Gguf(): string {
    const py = findPython()
    const out = join(this.dir, 'F16.gguf')
    if (!py && !existsSync(out))
      throw new MissingPiece('no oracle Python (gguf, numpy) to make the F16 GGUF')
    return this.#cached(out, (tmp) => {
      const t0 = performance.now()
      run(py!, [join(import.meta.dirname, 'make-f16-gguf.py'), this.q4, tmp])
      this.#opts.log(`made ${out} in ${secs(t0)}`)
    })
  }

  /** Our conversion (one chunk, batch 64) of the pair's GGUF. */
  converted(pair: PairSpec): string {
    const { context, log } = this.#opts
    const gguf = pair.src === 'q4' ? this.q4 : this.f16Gguf()
    const name = `${pair.src}-c${context}-lut2_${pair.lut2}-lut3_${pair.lut3}-v${VERSION}`
    const out = join(this.dir, name)
    return this.#cached(out, (tmp) => {
      const t0 = performance.now()
      const child = join(import.meta.dirname, '../convert/child.ts')
      const args = [gguf, tmp, pair.lut2, pair.lut3, '1', String(context)]
      run(process.execPath, ['--import', 'tsx', child, ...args])
      log(`converted ${basename(gguf)} (lut2 ${pair.lut2}, lut3 ${pair.lut3}) in ${secs(t0)}`)
    })
  }
}
