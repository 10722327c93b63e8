// Stop strings over streamed text. Text that might be the start of a stop string is held back
// until it is known not to be, so a stop string never reaches the output, even when split across
// tokens.

export class StopStrings {
  readonly #stops: string[]
  #pending = ''

  constructor(stops: readonly string[] = []) {
    this.#stops = stops.filter((s) => s.length > 0)
  }

  /**
   * Adds streamed text. Returns the text that is safe to emit and whether a stop string was
   * completed (the text before it is emitted; it and everything after it are dropped).
   */
  push(text: string): { text: string; stopped: boolean } {
    if (this.#stops.length === 0) return { text, stopped: false }
    const s = this.#pending + text
    let cut = -1
    for (const stop of this.#stops) {
      const i = s.indexOf(stop)
      if (i >= 0 && (cut < 0 || i < cut)) cut = i
    }
    if (cut >= 0) {
      this.#pending = ''
      return { text: s.slice(0, cut), stopped: true }
    }
    const hold = this.#heldSuffix(s)
    this.#pending = s.slice(s.length - hold)
    return { text: s.slice(0, s.length - hold), stopped: false }
  }

  /** The held-back text, released when generation ends for another reason. */
  flush(): string {
    const s = this.#pending
    this.#pending = ''
    return s
  }

  /** Length of the longest suffix of `s` that is a proper prefix of some stop string. */
  #heldSuffix(s: string): number {
    let best = 0
    for (const stop of this.#stops)
      for (let n = Math.min(stop.length - 1, s.length); n > best; n--)
        if (s.endsWith(stop.slice(0, n))) {
          best = n
          break
        }
    return best
  }
}
