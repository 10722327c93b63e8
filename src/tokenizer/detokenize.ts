// Streaming detokenization: token ids in, text deltas out, never a broken character.
import type { DecodeOptions, Tokenizer } from './tokenizer.js'

/**
 * Turns a stream of token ids into text deltas. A delta is emitted only once the text it ends with is
 * complete: a multi-byte character split over several tokens (byte-level BPE, or `<0xE4>` byte-fallback
 * tokens) is held back until its last byte arrives. The deltas concatenate to `decode(allIds)`.
 * @example
 * const detok = new IncrementalDecoder(tok)
 * for (const id of ids) process.stdout.write(detok.push(id))
 * process.stdout.write(detok.flush())
 */
export class IncrementalDecoder {
  readonly ids: number[] = []
  #tok: Tokenizer
  #opts: DecodeOptions
  // The window [prefix, read) is the last emitted chunk: decoded again before the new ids so that
  // context-dependent decoders (sentencepiece's "strip the first space") treat both decodes alike.
  #prefix = 0
  #read = 0 // ids before this index are already emitted

  constructor(tokenizer: Tokenizer, opts: DecodeOptions = {}) {
    this.#tok = tokenizer
    this.#opts = opts
  }

  /** Adds one id; returns the text that became complete (often '', never a partial character). */
  push(id: number): string {
    this.ids.push(id)
    return this.#advance(false)
  }

  /** Returns whatever is still held back (an unfinished character decodes as U+FFFD, as in decode). */
  flush(): string {
    return this.#advance(true)
  }

  /**
   * Like flush, but leaves out an unfinished character at the end (a generation stopped between
   * the bytes of one character): the text never ends in a U+FFFD of our making.
   */
  flushComplete(): string {
    const tail = this.ids.slice(this.#read)
    while (
      tail.length &&
      this.#tok
        .decode([...this.ids.slice(this.#prefix, this.#read), ...tail], this.#opts)
        .endsWith('\ufffd')
    )
      tail.pop()
    const held = this.ids.splice(this.#read + tail.length)
    const text = this.#advance(true)
    this.ids.push(...held)
    this.#read = this.ids.length
    return text
  }

  #advance(final: boolean): string {
    const before = this.#tok.decode(this.ids.slice(this.#prefix, this.#read), this.#opts)
    const after = this.#tok.decode(this.ids.slice(this.#prefix), this.#opts)
    // A trailing U+FFFD means the last character is still incomplete: wait for more bytes.
    if (!final && after.endsWith('\ufffd')) return ''
    if (after.length <= before.length) return '' // nothing new yet (e.g. a skipped special token)
    this.#prefix = this.#read
    this.#read = this.ids.length
    return after.slice(before.length)
  }
}
