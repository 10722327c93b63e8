// One file from the Hub into the blob cache: resumable (HTTP Range on <blob>.incomplete), verified
// (size, then sha256 for LFS files or the git blob sha1 otherwise), renamed into place at the end.
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { AnemllError, FormatError } from '../util/errors.js'
import type { Progress } from '../util/progress.js'

/** What the listing says about a file. */
export interface RemoteFile {
  path: string
  size: number
  /** sha256 (LFS) or git blob sha1: the blob's name in the cache and its checksum. */
  etag: string
  lfs: boolean
}

export interface FetchSettings {
  token?: string
  /** Abort an attempt when no byte arrives for this long: connecting, awaiting the answer, or mid-body. */
  idleTimeoutMs: number
  /** Attempts in all, the first included. */
  attempts: number
  /** First retry delay; doubles each time. */
  retryDelayMs: number
  /** Told before each retry, so a slow or silent server is never silent to the user. */
  onRetry?: (why: string, next: number, of: number) => void
}

/** An attempt that got no byte in time (retried, unlike a refused connection). */
export class HubTimeout extends Error {
  override name = 'HubTimeout'
  constructor(
    readonly host: string,
    readonly ms: number,
    answered: boolean,
  ) {
    super(
      answered
        ? `${host} sent nothing for ${ms / 1000} s`
        : `no answer from ${host} within ${ms / 1000} s`,
    )
  }
}

/** The Hub answered with an HTTP error. */
export class HubHttpError extends AnemllError {
  override name = 'HubHttpError'
  constructor(
    readonly status: number,
    readonly errorCode: string | null,
    message: string,
  ) {
    super(message)
  }
}

// No server there (or no network at all): retrying will not help, fail fast.
const UNREACHABLE = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ENETUNREACH',
  'EHOSTUNREACH',
])

function unreachable(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } }).cause?.code
  return code !== undefined && UNREACHABLE.has(code)
}

/**
 * Runs `fn` again after network errors (not after Hub answers, nor when the host is unreachable),
 * waiting longer each time.
 */
export async function withRetries<T>(s: FetchSettings, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof AnemllError || unreachable(err) || attempt >= s.attempts) throw err
      await pause(s, attempt, err)
    }
  }
}

function pause(s: FetchSettings, attempt: number, err: unknown): Promise<void> {
  s.onRetry?.(reason(err), attempt + 1, s.attempts)
  return new Promise((r) => setTimeout(r, s.retryDelayMs * 2 ** (attempt - 1)))
}

/** Why a request failed, in a few words (a timeout, a socket error code, ...). */
export function reason(err: unknown): string {
  if (err instanceof HubTimeout) return err.message
  const e = err as Error & { cause?: { message?: string; code?: string } }
  return e.cause instanceof HubTimeout
    ? e.cause.message
    : (e.cause?.code ?? e.cause?.message ?? e.message)
}

/** GET with the token and an idle timeout; the body is read by the caller within `use`. */
export async function hubFetch<T>(
  url: string,
  s: FetchSettings,
  headers: Record<string, string>,
  use: (res: Response, alive: () => void) => Promise<T>,
): Promise<T> {
  const ctl = new AbortController()
  const host = new URL(url).host
  let answered = false
  let timer: NodeJS.Timeout | undefined
  const alive = () => {
    clearTimeout(timer)
    timer = setTimeout(
      () => ctl.abort(new HubTimeout(host, s.idleTimeoutMs, answered)),
      s.idleTimeoutMs,
    )
  }
  alive()
  try {
    const auth: Record<string, string> = s.token ? { authorization: `Bearer ${s.token}` } : {}
    const res = await fetch(url, { headers: { ...auth, ...headers }, signal: ctl.signal })
    answered = true
    alive()
    return await use(res, alive)
  } catch (err) {
    // fetch rejects with the abort reason itself, or with it as the cause.
    throw ctl.signal.aborted && ctl.signal.reason instanceof HubTimeout ? ctl.signal.reason : err
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Downloads `file` from `url` into `blob`, resuming a previous `.incomplete` part and retrying
 * dropped connections. Throws FormatError when the bytes do not match the listing.
 */
export async function downloadBlob(
  url: string,
  file: RemoteFile,
  blob: string,
  s: FetchSettings,
  progress?: Progress,
): Promise<void> {
  const part = `${blob}.incomplete`
  await mkdir(dirname(blob), { recursive: true })
  let counted = 0 // bytes of this file shown in the progress bar
  const count = (n: number) => {
    counted += n
    progress?.add(n)
  }
  for (let attempt = 1; ; attempt++) {
    let have = await stat(part).then(
      (st) => st.size,
      () => 0,
    )
    if (have > file.size) have = 0
    count(have - counted)
    try {
      await fetchInto(url, file, part, have, s, count)
      break
    } catch (err) {
      if (err instanceof AnemllError || unreachable(err) || attempt >= s.attempts)
        throw wrapNetwork(err, file.path)
      await pause(s, attempt, err)
    }
  }
  await verify(part, file)
  await rename(part, blob)
}

async function fetchInto(
  url: string,
  file: RemoteFile,
  part: string,
  offset: number,
  s: FetchSettings,
  count: (bytes: number) => void,
): Promise<void> {
  const range: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {}
  await hubFetch(url, s, range, async (res, alive) => {
    if (!res.ok) throw await httpError(res, file.path)
    // A server that ignores Range answers 200 with the whole file: start over.
    const start = res.status === 206 ? offset : 0
    const fh = await open(part, start > 0 ? 'r+' : 'w')
    try {
      let pos = start
      count(start - offset)
      if (!res.body) throw new Error('empty response body')
      for await (const chunk of res.body) {
        alive()
        if (pos + chunk.length > file.size)
          throw new FormatError(file.path, `server sent more than the listed ${file.size} bytes`)
        await fh.write(chunk, 0, chunk.length, pos)
        pos += chunk.length
        count(chunk.length)
      }
      await fh.truncate(pos)
    } finally {
      await fh.close()
    }
  })
}

async function verify(part: string, file: RemoteFile): Promise<void> {
  const size = (await stat(part)).size
  const fail = async (problem: string): Promise<never> => {
    await unlink(part).catch(() => undefined)
    throw new FormatError(file.path, `${problem}; the partial download was deleted, try again`)
  }
  if (size !== file.size) await fail(`downloaded ${size} bytes, the Hub lists ${file.size}`)
  // LFS files are named by their sha256; other files by git's sha1 of "blob <size>\0" + bytes.
  const hash: Hash = file.lfs ? createHash('sha256') : createHash('sha1').update(`blob ${size}\0`)
  for await (const chunk of createReadStream(part)) hash.update(chunk as Buffer)
  const digest = hash.digest('hex')
  if (digest !== file.etag) await fail(`checksum ${digest} does not match the Hub's ${file.etag}`)
}

/** An AnemllError for a failed response, with the Hub's own reason when it gives one. */
export async function httpError(res: Response, what: string): Promise<HubHttpError> {
  const code = res.headers.get('x-error-code')
  const detail = (res.headers.get('x-error-message') ?? (await res.text().catch(() => '')))
    .slice(0, 300)
    .trim()
  return new HubHttpError(
    res.status,
    code,
    `${what}: HTTP ${res.status}${detail ? ` (${detail})` : ''}`,
  )
}

function wrapNetwork(err: unknown, what: string): AnemllError {
  if (err instanceof AnemllError) return err
  const slow = err instanceof HubTimeout ? ' (or raise HF_HUB_DOWNLOAD_TIMEOUT)' : ''
  return new AnemllError(`${what}: network error (${reason(err)}); run again to resume${slow}`)
}
