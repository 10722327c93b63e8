// `org/name[@revision]` → a local snapshot folder in the Hugging Face cache, downloading what is
// missing. Written on fetch: @huggingface/hub 2.x has no resume, progress or checksum checks and
// names snapshots by each file's last commit rather than the revision's commit.
import { readdirSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { AnemllError, FormatError } from '../util/errors.js'
import { Progress, type ProgressStream } from '../util/progress.js'
import { RepoCache, hubEnv, parseRepoSpec, safeRelativePath, type HubEnv } from './hub-cache.js'
import {
  type FetchSettings,
  type RemoteFile,
  type HubHttpError,
  HubTimeout,
  downloadBlob,
  hubFetch,
  httpError,
  reason,
  withRetries,
} from './hub-download.js'

export { parseRepoSpec } from './hub-cache.js'

export interface HubOptions {
  /** Environment to read HF_* variables from (default process.env). */
  env?: NodeJS.ProcessEnv
  /** Which repo files to fetch (default: configs, tokenizer files and safetensors weights). */
  include?: (path: string) => boolean
  /** No progress output. */
  quiet?: boolean
  /** Where progress goes (default stderr). */
  progressStream?: ProgressStream
  /** Called for non-fatal problems (default: printed to stderr). */
  onWarning?: (message: string) => void
  /** No byte for this long aborts an attempt (default: HF_HUB_ETAG_TIMEOUT / HF_HUB_DOWNLOAD_TIMEOUT, 10 s). */
  idleTimeoutMs?: number
  /** Attempts per request, the first included (default 3 for the listing, 5 per file). */
  attempts?: number
  /** First retry delay, doubling each time (default 1 s). */
  retryDelayMs?: number
}

/** A local snapshot of a Hub repo. */
export interface Snapshot {
  repo: string
  revision: string
  /** The commit the revision resolved to. */
  sha: string
  /** `<cache>/models--org--name/snapshots/<sha>`: a folder like a downloaded model. */
  dir: string
  /** Paths of the files in the snapshot, relative to `dir`. */
  files: string[]
}

const MODEL_FILE =
  /^(config|generation_config|tokenizer|tokenizer_config|special_tokens_map|added_tokens|chat_template)\.(json|jinja|model)$|\.safetensors$|\.safetensors\.index\.json$/

const TOKENIZER_FILE =
  /^(tokenizer|tokenizer_config|special_tokens_map|added_tokens|chat_template)\.(json|jinja|model)$/

/** The files a conversion needs: configs, tokenizer files and safetensors weights. */
export function isModelFile(path: string): boolean {
  return MODEL_FILE.test(path)
}

/** Only the tokenizer files (for `anemll tokenize`: no weights). */
export function isTokenizerFile(path: string): boolean {
  return TOKENIZER_FILE.test(path)
}

/**
 * Resolves `org/name[@revision]` to a local snapshot, downloading missing files with resume, a
 * progress bar and checksum checks. Honours HF_ENDPOINT, HF_HOME / HF_HUB_CACHE, HF_TOKEN,
 * HF_HUB_OFFLINE=1 (cache only) and HF_HUB_ETAG_TIMEOUT / HF_HUB_DOWNLOAD_TIMEOUT (seconds
 * without a byte before an attempt is given up; retries are announced through onWarning).
 * @example const { dir } = await downloadSnapshot('HuggingFaceTB/SmolLM2-135M-Instruct')
 */
export async function downloadSnapshot(spec: string, opts: HubOptions = {}): Promise<Snapshot> {
  const { repo, revision } = parseRepoSpec(spec)
  const env = hubEnv(opts.env)
  const cache = new RepoCache(env.cacheDir, repo)
  const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`warning: ${m}\n`))
  if (env.offline) return fromCache(cache, repo, revision, 'HF_HUB_OFFLINE is set')

  const retrying = (why: string, next: number, of: number) => {
    if (!opts.quiet) warn(`${why}; retrying (attempt ${next} of ${of})`)
  }
  const listSettings: FetchSettings = {
    token: env.token,
    idleTimeoutMs: opts.idleTimeoutMs ?? env.listTimeoutMs,
    attempts: opts.attempts ?? 3,
    retryDelayMs: opts.retryDelayMs ?? 1000,
    onRetry: retrying,
  }
  const settings: FetchSettings = {
    ...listSettings,
    idleTimeoutMs: opts.idleTimeoutMs ?? env.downloadTimeoutMs,
    attempts: opts.attempts ?? 5,
  }
  // Said before the first request, so that a slow Hub is never a silent wait.
  if (!opts.quiet)
    (opts.progressStream ?? process.stderr).write(
      `${repo}@${revision}: asking ${env.endpoint} for the file list\n`,
    )
  let listing: { sha: string; files: RemoteFile[] }
  try {
    listing = await listRepo(env, repo, revision, listSettings)
  } catch (err) {
    if (err instanceof AnemllError) throw err
    const cached = cache.commitOf(revision)
    if (cached === undefined) throw hubUnreachable(env, err, listSettings)
    warn(
      `${hubUnreachable(env, err, listSettings).message}; using the cached snapshot ${cached.slice(0, 8)}`,
    )
    return fromCache(cache, repo, revision, 'the Hub is unreachable')
  }

  const include = opts.include ?? isModelFile
  const wanted = listing.files.filter((f) => include(f.path))
  if (!opts.include && !wanted.some((f) => f.path.endsWith('.safetensors'))) {
    const names = listing.files.map((f) => f.path).join(', ')
    throw new AnemllError(
      `${repo}@${revision} has no .safetensors weights (files: ${names || 'none'})`,
    )
  }
  const missing = wanted.filter((f) => !cache.hasFile(listing.sha, f.path, f.size))
  const progress = new Progress({
    label: repo,
    total: missing.reduce((n, f) => n + f.size, 0),
    unit: 'bytes',
    quiet: opts.quiet || missing.length === 0,
    stream: opts.progressStream,
  })
  for (const file of missing) {
    const blob = cache.blob(file.etag)
    const url = `${env.endpoint}/${repo}/resolve/${listing.sha}/${encodePath(file.path)}`
    const size = await statSize(blob)
    if (size === file.size) progress.add(size)
    else await downloadBlob(url, file, blob, settings, progress)
    await cache.link(listing.sha, file.path, blob)
  }
  progress.finish()
  await cache.writeRef(revision, listing.sha)
  const dir = cache.snapshot(listing.sha)
  return { repo, revision, sha: listing.sha, dir, files: wanted.map((f) => f.path) }
}

interface Sibling {
  rfilename?: unknown
  size?: unknown
  blobId?: unknown
  lfs?: { sha256?: unknown; size?: unknown }
}

/** The commit and files of `repo` at `revision`, from the Hub's model-info API. */
async function listRepo(env: HubEnv, repo: string, revision: string, s: FetchSettings) {
  const url = `${env.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`
  const info = await withRetries(s, () =>
    hubFetch(url, s, {}, async (res) => {
      if (!res.ok) throw explain(await httpError(res, `${repo}@${revision}`), env, repo, revision)
      return (await res.json()) as { sha?: unknown; siblings?: Sibling[] }
    }),
  )
  const where = `${url} (Hub listing)`
  if (typeof info.sha !== 'string' || !/^[0-9a-f]{40}$/.test(info.sha))
    throw new FormatError(where, 'no commit sha')
  if (!Array.isArray(info.siblings)) throw new FormatError(where, 'no file list')
  const files = info.siblings.map((sib): RemoteFile => {
    const path = sib.rfilename
    if (typeof path !== 'string' || !safeRelativePath(path))
      throw new FormatError(where, `unsafe file name ${JSON.stringify(path)}`)
    const lfs = sib.lfs && typeof sib.lfs.sha256 === 'string'
    const etag = lfs ? sib.lfs!.sha256 : sib.blobId
    const size = lfs ? sib.lfs!.size : sib.size
    if (typeof etag !== 'string' || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(etag))
      throw new FormatError(where, `${path}: no blob id`)
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
      throw new FormatError(where, `${path}: no size`)
    return { path, size, etag, lfs: Boolean(lfs) }
  })
  return { sha: info.sha, files }
}

/** Turns the Hub's error codes into advice. */
function explain(err: HubHttpError, env: HubEnv, repo: string, revision: string): AnemllError {
  const page = `${env.endpoint}/${repo}`
  if (err.errorCode === 'GatedRepo')
    return new AnemllError(
      `${repo} is gated: accept the licence on ${page} and set HF_TOKEN to a token of that account` +
        (env.token ? ' (the current token has no access)' : ''),
    )
  if (err.errorCode === 'RevisionNotFound')
    return new AnemllError(`no such revision '${revision}' in ${repo}`)
  if (err.errorCode === 'RepoNotFound' || err.status === 404)
    return new AnemllError(
      `no such repo/revision ${repo}@${revision} on ${env.endpoint}` +
        (env.token ? '' : ' (if the repo is private, set HF_TOKEN)'),
    )
  if (err.status === 401)
    return new AnemllError(
      env.token
        ? `${repo}: the Hub rejected HF_TOKEN`
        : `${repo} needs authentication: set HF_TOKEN`,
    )
  return err
}

function fromCache(cache: RepoCache, repo: string, revision: string, why: string): Snapshot {
  const sha = cache.commitOf(revision)
  const dir = sha && cache.snapshot(sha)
  let files: string[] = []
  try {
    files = dir ? listFiles(dir) : []
  } catch {
    files = []
  }
  if (!sha || !dir || files.length === 0)
    throw new AnemllError(`${why} and ${repo}@${revision} is not in the cache (${cache.root})`)
  return { repo, revision, sha, dir, files }
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name
    return e.isDirectory() ? listFiles(dir, rel) : [rel]
  })
}

function hubUnreachable(env: HubEnv, err: unknown, s: FetchSettings): AnemllError {
  const timedOut = err instanceof HubTimeout
  return new AnemllError(
    `cannot reach the Hub: ${env.endpoint}: ${reason(err)}` +
      (timedOut
        ? ` (${s.attempts} attempts; raise HF_HUB_ETAG_TIMEOUT to wait longer, or set HF_HUB_OFFLINE=1 to use the cache)`
        : ''),
  )
}

const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/')

async function statSize(path: string): Promise<number | undefined> {
  return stat(path).then(
    (st) => st.size,
    () => undefined,
  )
}
