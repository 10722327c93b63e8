// A small progress bar: redrawn in place on a terminal, plain periodic lines otherwise (logs, CI).

/** Where progress goes: a terminal (isTTY, columns) or any writable text sink. */
export interface ProgressStream {
  write(text: string): unknown
  isTTY?: boolean
  columns?: number
}

export interface ProgressOptions {
  /** Shown before the bar ("Qwen/Qwen3-0.6B", "quantize"). */
  label: string
  /** Total amount; unknown totals show no bar and no ETA. */
  total?: number
  /** 'bytes' formats amounts as KiB/MiB/GiB and speed per second (default 'items'). */
  unit?: 'bytes' | 'items'
  /** Default process.stderr. */
  stream?: ProgressStream
  /** Print nothing at all. */
  quiet?: boolean
  /** Clock in ms (tests); default performance.now. */
  now?: () => number
  /** Minimum ms between terminal redraws (default 100, i.e. at most ~10 per second). */
  redrawMs?: number
  /** Ms between plain lines when the stream is not a terminal (default 5000). */
  lineMs?: number
}

const BAR_WIDTH = 24
const SPEED_WINDOW_MS = 5000
// A speed from a few milliseconds of work is noise (the first blob arrives at "GiB/s").
const MIN_SPEED_SPAN_MS = 1000

/**
 * Progress of one task: call `update`/`add` as work is done and `finish` at the end.
 * @example
 * const p = new Progress({ label: 'model.safetensors', total: size, unit: 'bytes' })
 * for await (const chunk of body) p.add(chunk.length)
 * p.finish()
 */
export class Progress {
  done = 0
  total?: number
  #opts: ProgressOptions
  #stream: ProgressStream
  #now: () => number
  #start: number
  #lastDraw = -Infinity
  #samples: [number, number][] = [] // [time, done] pairs within SPEED_WINDOW_MS
  #finished = false

  constructor(opts: ProgressOptions) {
    this.#opts = opts
    this.total = opts.total
    this.#stream = opts.stream ?? process.stderr
    this.#now = opts.now ?? (() => performance.now())
    this.#start = this.#now()
    this.#samples.push([this.#start, 0])
  }

  /** Sets the amount done so far (absolute). */
  update(done: number): void {
    this.done = done
    const t = this.#now()
    this.#samples.push([t, done])
    while (this.#samples.length > 2 && t - this.#samples[0][0] > SPEED_WINDOW_MS)
      this.#samples.shift()
    const tty = this.#stream.isTTY === true
    const every = tty ? (this.#opts.redrawMs ?? 100) : (this.#opts.lineMs ?? 5000)
    if (t - this.#lastDraw >= every) this.#draw(t, false)
  }

  /** Adds to the amount done. */
  add(amount: number): void {
    this.update(this.done + amount)
  }

  /** Draws the final state and ends the line; later calls do nothing. */
  finish(): void {
    if (this.#finished) return
    this.#finished = true
    this.#draw(this.#now(), true)
  }

  /** Amount per second over the last few seconds; undefined until a second has been seen. */
  speed(): number | undefined {
    const [t0, d0] = this.#samples[0]
    const [t1, d1] = this.#samples[this.#samples.length - 1]
    return t1 - t0 >= MIN_SPEED_SPAN_MS ? ((d1 - d0) * 1000) / (t1 - t0) : undefined
  }

  /** The status line as it would be printed now. */
  line(final = false): string {
    const { label, unit } = this.#opts
    const amount = (n: number) => (unit === 'bytes' ? formatBytes(n) : String(Math.round(n)))
    const parts = [label]
    const total = this.total
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, this.done / total)
      const full = Math.round(frac * BAR_WIDTH)
      parts.push(
        `${'█'.repeat(full)}${'░'.repeat(BAR_WIDTH - full)} ${(frac * 100).toFixed(0).padStart(3)}%`,
      )
      parts.push(`${amount(this.done)}/${amount(total)}`)
    } else {
      parts.push(amount(this.done))
    }
    const elapsed = (this.#now() - this.#start) / 1000
    const speed = !final
      ? this.speed()
      : elapsed * 1000 >= MIN_SPEED_SPAN_MS
        ? this.done / elapsed
        : undefined
    if (speed !== undefined)
      parts.push(unit === 'bytes' ? `${formatBytes(speed)}/s` : `${speed.toFixed(1)}/s`)
    if (final) parts.push(`in ${formatDuration(elapsed)}`)
    else if (total !== undefined && speed !== undefined && speed > 0 && this.done < total)
      parts.push(`ETA ${formatDuration((total - this.done) / speed)}`)
    return parts.join('  ')
  }

  #draw(t: number, final: boolean): void {
    this.#lastDraw = t
    if (this.#opts.quiet) return
    const text = this.line(final)
    if (this.#stream.isTTY) {
      const width = this.#stream.columns ?? 100
      this.#stream.write(`\r${text.slice(0, width - 1)}\x1b[K${final ? '\n' : ''}`)
    } else {
      this.#stream.write(`${text}\n`)
    }
  }
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** 1536 → '1.5 KiB'. */
export function formatBytes(n: number): string {
  let v = n
  let i = 0
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024
    i++
  }
  return i === 0
    ? `${Math.round(v)} B`
    : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${BYTE_UNITS[i]}`
}

/** Seconds → '42s', '3:05', '1:02:03'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  const pad = (x: number) => String(x).padStart(2, '0')
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`
}
