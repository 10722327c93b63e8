import { readSync } from 'node:fs'
import { FormatError } from '../util/errors.js'

const CHUNK = 1 << 20
// Header strings are names, templates and vocab pieces; no real one comes near this.
const MAX_STRING_BYTES = 64 << 20

/**
 * Sequential little-endian reads over an open file through a 1 MiB window, for parsing headers
 * of files we do not control: every read is bounds-checked against the file size first, and
 * failures are FormatErrors naming the file.
 */
export class FileCursor {
  pos = 0
  #buf = Buffer.alloc(0)
  #start = 0 // file offset of #buf[0]

  constructor(
    readonly file: string,
    readonly fd: number,
    readonly size: number,
  ) {}

  fail(problem: string): never {
    throw new FormatError(this.file, problem)
  }

  /** Makes bytes [pos, pos+n) available and returns their index in the window. */
  #take(n: number, what: string): number {
    if (n > this.size - this.pos) {
      this.fail(`truncated: ${what} needs ${n} bytes at offset ${this.pos}, file is ${this.size}`)
    }
    if (this.pos < this.#start || this.pos + n > this.#start + this.#buf.length) {
      const len = Math.min(Math.max(n, CHUNK), this.size - this.pos)
      const buf = Buffer.allocUnsafe(len)
      let got = 0
      while (got < len) {
        const r = readSync(this.fd, buf, got, len - got, this.pos + got)
        if (r === 0) this.fail(`truncated while reading ${what}`)
        got += r
      }
      this.#buf = buf
      this.#start = this.pos
    }
    const i = this.pos - this.#start
    this.pos += n
    return i
  }

  // #take may replace the window, so it must run before the buffer is read.
  #at<T>(n: number, what: string, get: (b: Buffer, i: number) => T): T {
    const i = this.#take(n, what)
    return get(this.#buf, i)
  }

  u8 = (what = 'u8') => this.#at(1, what, (b, i) => b[i])
  i8 = (what = 'i8') => this.#at(1, what, (b, i) => b.readInt8(i))
  u16 = (what = 'u16') => this.#at(2, what, (b, i) => b.readUInt16LE(i))
  i16 = (what = 'i16') => this.#at(2, what, (b, i) => b.readInt16LE(i))
  u32 = (what = 'u32') => this.#at(4, what, (b, i) => b.readUInt32LE(i))
  i32 = (what = 'i32') => this.#at(4, what, (b, i) => b.readInt32LE(i))
  f32 = (what = 'f32') => this.#at(4, what, (b, i) => b.readFloatLE(i))
  f64 = (what = 'f64') => this.#at(8, what, (b, i) => b.readDoubleLE(i))
  u64 = (what = 'u64') => this.#at(8, what, (b, i) => small(b.readBigUInt64LE(i)))
  i64 = (what = 'i64') => this.#at(8, what, (b, i) => small(b.readBigInt64LE(i)))

  /** A u64 that must be a count/size we can index with. */
  count(what: string): number {
    const v = this.u64(what)
    if (typeof v === 'bigint') this.fail(`${what} ${v} is too large`)
    return v
  }

  str(what: string): string {
    const n = this.count(`${what} length`)
    if (n > MAX_STRING_BYTES)
      this.fail(`${what} of ${n} bytes exceeds the limit of ${MAX_STRING_BYTES}`)
    return this.#at(n, what, (b, i) => b.toString('utf8', i, i + n))
  }

  /** Fails unless `n` items of at least `min` bytes each fit in the rest of the file. */
  fits(n: number, min: number, what: string): void {
    if (n * min > this.size - this.pos) {
      this.fail(`${what} count ${n} cannot fit in the ${this.size - this.pos} bytes left`)
    }
  }
}

/** A 64-bit integer as a number when that is exact, else as a bigint. */
function small(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v
}
