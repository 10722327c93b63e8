// The Hugging Face cache layout, shared with huggingface_hub so existing caches are reused:
//
//   <cache>/models--<org>--<name>/
//     refs/<revision>              the commit sha the revision pointed to when last resolved
//     blobs/<etag>                 file contents; etag = sha256 for LFS files, git blob sha1 otherwise
//     blobs/<etag>.incomplete      a download in progress (resumed with an HTTP Range request)
//     snapshots/<sha>/<path>       symlink to ../../blobs/<etag> (one ../ more per subfolder)
import { existsSync, readFileSync, statSync } from 'node:fs'
import { copyFile, mkdir, rename, symlink, unlink, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { envVar, type EnvName } from '../util/env.js'
import { UsageError } from '../util/errors.js'

const REPO_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?$/
const COMMIT = /^[0-9a-f]{40}$/

/** A repo at a revision, as `org/name[@revision]` names it. */
export interface RepoRef {
  repo: string
  revision: string
}

/**
 * Parses `org/name[@revision]`, rejecting anything that could leave the cache folder or the URL
 * path (`..`, absolute paths, backslashes, empty segments).
 */
export function parseRepoSpec(spec: string): RepoRef {
  const at = spec.indexOf('@')
  const repo = at < 0 ? spec : spec.slice(0, at)
  const revision = at < 0 ? 'main' : spec.slice(at + 1)
  checkRepoId(repo)
  checkRevision(revision)
  return { repo, revision }
}

/** Throws UsageError unless `repo` is a plain `org/name` Hub id. */
export function checkRepoId(repo: string): void {
  const parts = repo.split('/')
  const ok =
    parts.length === 2 &&
    parts.every((p) => REPO_PART.test(p) && !p.includes('..') && !p.includes('--'))
  if (!ok) throw new UsageError(`'${repo}' is not a Hub repo id (expected org/name)`)
}

/** Throws UsageError for a revision that is not a safe branch, tag or commit name. */
export function checkRevision(revision: string): void {
  if (!safeRelativePath(revision) || revision.length > 256)
    throw new UsageError(`'${revision}' is not a valid revision`)
}

/** True for a relative path that stays inside its folder: no '..', '.', empty or absolute parts. */
export function safeRelativePath(path: string): boolean {
  if (path === '' || path.includes('\\') || path.includes('\0') || /^[A-Za-z]:/.test(path))
    return false
  return path.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
}

/** Where the cache lives and how the Hub is reached, from the environment as huggingface_hub reads it. */
export interface HubEnv {
  endpoint: string
  cacheDir: string
  token?: string
  offline: boolean
  /** How long to wait for any byte of the file listing (HF_HUB_ETAG_TIMEOUT, seconds; default 10). */
  listTimeoutMs: number
  /** How long to wait for any byte of a download (HF_HUB_DOWNLOAD_TIMEOUT, seconds; default 10). */
  downloadTimeoutMs: number
}

const TRUE = new Set(['1', 'true', 'yes', 'on'])

/** Seconds in an environment variable (as huggingface_hub reads its timeouts), in ms. */
function seconds(env: NodeJS.ProcessEnv, name: EnvName, fallback: number): number {
  const raw = envVar(name, env)
  if (raw === undefined || raw === '') return fallback * 1000
  const s = Number(raw)
  if (!Number.isFinite(s) || s <= 0)
    throw new UsageError(`${name}='${raw}' is not a number of seconds > 0`)
  return s * 1000
}

/**
 * HF_ENDPOINT, HF_HUB_CACHE / HF_HOME, HF_TOKEN (or $HF_HOME/token), HF_HUB_OFFLINE,
 * HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT.
 */
export function hubEnv(env: NodeJS.ProcessEnv = process.env): HubEnv {
  const home =
    envVar('HF_HOME', env) ??
    join(envVar('XDG_CACHE_HOME', env) ?? join(homedir(), '.cache'), 'huggingface')
  const tokenFile = join(home, 'token')
  const token =
    envVar('HF_TOKEN', env) ||
    envVar('HUGGING_FACE_HUB_TOKEN', env) ||
    (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '') ||
    undefined
  return {
    endpoint: (envVar('HF_ENDPOINT', env) ?? 'https://huggingface.co').replace(/\/+$/, ''),
    cacheDir: envVar('HF_HUB_CACHE', env) ?? join(home, 'hub'),
    token,
    offline: TRUE.has((envVar('HF_HUB_OFFLINE', env) ?? '').toLowerCase()),
    listTimeoutMs: seconds(env, 'HF_HUB_ETAG_TIMEOUT', 10),
    downloadTimeoutMs: seconds(env, 'HF_HUB_DOWNLOAD_TIMEOUT', 10),
  }
}

/** Paths inside one repo's cache folder. */
export class RepoCache {
  readonly root: string

  constructor(cacheDir: string, repo: string) {
    checkRepoId(repo)
    this.root = join(cacheDir, `models--${repo.replace('/', '--')}`)
  }

  blob(etag: string): string {
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(etag)) throw new UsageError(`bad blob id '${etag}'`)
    return join(this.root, 'blobs', etag)
  }

  snapshot(sha: string): string {
    if (!COMMIT.test(sha)) throw new UsageError(`'${sha}' is not a commit sha`)
    return join(this.root, 'snapshots', sha)
  }

  /** The cached commit of `revision` (a commit sha names itself), or undefined. */
  commitOf(revision: string): string | undefined {
    if (COMMIT.test(revision)) return revision
    const ref = join(this.root, 'refs', revision)
    if (!existsSync(ref)) return undefined
    const sha = readFileSync(ref, 'utf8').trim()
    return COMMIT.test(sha) ? sha : undefined
  }

  async writeRef(revision: string, sha: string): Promise<void> {
    if (revision === sha) return
    const ref = join(this.root, 'refs', revision)
    await mkdir(dirname(ref), { recursive: true })
    const tmp = `${ref}.${process.pid}.tmp`
    await writeFile(tmp, sha)
    await rename(tmp, ref)
  }

  /** Points snapshots/<sha>/<path> at a blob: a relative symlink, or a copy where links fail. */
  async link(sha: string, path: string, blob: string): Promise<string> {
    const target = join(this.snapshot(sha), path)
    await mkdir(dirname(target), { recursive: true })
    await unlink(target).catch(() => undefined)
    try {
      await symlink(relative(dirname(target), blob), target)
    } catch {
      await copyFile(blob, target)
    }
    return target
  }

  /** True when snapshots/<sha>/<path> exists and (through its link) has `size` bytes. */
  hasFile(sha: string, path: string, size: number | undefined): boolean {
    try {
      const st = statSync(join(this.snapshot(sha), path))
      return st.isFile() && (size === undefined || st.size === size)
    } catch {
      return false
    }
  }
}
