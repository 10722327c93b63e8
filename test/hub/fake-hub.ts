// A local stand-in for the Hugging Face Hub on 127.0.0.1 (port 0), answering like the real one for
// the routes anemll uses:
//   GET /api/models/{org}/{name}/revision/{rev}?blobs=true  model info: sha + siblings (size, blobId, lfs)
//   GET /{org}/{name}/resolve/{rev}/{path}                  small files: 200 + ETag, X-Repo-Commit;
//                                                           LFS files: 302 to /cdn/{sha256} + X-Linked-*
//   GET /cdn/{sha256}                                       the bytes, with Range support (206)
// Errors carry X-Error-Code like the Hub: GatedRepo (401), RepoNotFound (401), RevisionNotFound (404).
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeFile {
  path: string
  data: Buffer
  /** Served through the LFS redirect, checksummed by sha256. */
  lfs?: boolean
}

export interface FakeRepo {
  id: string
  sha: string
  /** Extra branch/tag names resolving to `sha` (besides 'main' and the sha itself). */
  refs?: string[]
  files: FakeFile[]
  /** Requires `Authorization: Bearer <token>`. */
  gatedToken?: string
  /** Listing entries served as-is (to test hostile file names). */
  rawSiblings?: unknown[]
}

/** Fault injection: the next `times` downloads of `path` send `bytes` bytes, then drop the socket. */
export interface Drop {
  path: string
  bytes: number
  times: number
  /** Keep the connection open and silent instead of dropping it (a stalled transfer). */
  hang?: boolean
}

export interface FakeHub {
  url: string
  /** Every request seen: method, url and the headers that matter. */
  requests: { url: string; range?: string; auth?: string }[]
  drops: Drop[]
  /** Serve these bytes instead of a file's real ones (to test checksum failures). */
  corrupt: Map<string, Buffer>
  close(): Promise<void>
}

export const gitBlobSha1 = (data: Buffer) =>
  createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex')
export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

/** Starts the fake Hub; `close()` it at the end of the test. */
export async function startFakeHub(repos: FakeRepo[]): Promise<FakeHub> {
  const hub: FakeHub = {
    url: '',
    requests: [],
    drops: [],
    corrupt: new Map(),
    close: async () => {},
  }
  const server: Server = createServer((req, res) => {
    hub.requests.push({
      url: req.url ?? '',
      range: req.headers.range,
      auth: req.headers.authorization,
    })
    try {
      route(hub, repos, req, res)
    } catch (err) {
      res.writeHead(500).end(String(err))
    }
  })
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  hub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  hub.close = () =>
    new Promise<void>((ok) => {
      server.closeAllConnections()
      server.close(() => ok())
    })
  return hub
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'x-error-code': code, 'x-error-message': message }).end(message)
}

function route(hub: FakeHub, repos: FakeRepo[], req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', hub.url)
  const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname)
  if (cdn) {
    const file = repos.flatMap((r) => r.files).find((f) => f.lfs && sha256(f.data) === cdn[1])
    return file ? serveBytes(hub, req, res, file, {}) : fail(res, 404, 'EntryNotFound', 'no blob')
  }
  const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(url.pathname)
  const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname)
  const m = api ?? resolve
  if (!m) return fail(res, 404, 'EntryNotFound', 'no route')
  const repo = repos.find((r) => r.id === m[1])
  // The real Hub answers 401 for repos it does not show you, whether missing or private.
  if (!repo) return fail(res, 401, 'RepoNotFound', 'Repository not found')
  if (repo.gatedToken && req.headers.authorization !== `Bearer ${repo.gatedToken}`)
    return fail(res, 401, 'GatedRepo', `Access to model ${repo.id} is restricted.`)
  const rev = decodeURIComponent(m[2])
  if (![repo.sha, 'main', ...(repo.refs ?? [])].includes(rev))
    return fail(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`)
  if (api) return serveInfo(res, repo)
  const path = decodeURIComponent(m[3])
  const file = repo.files.find((f) => f.path === path)
  if (!file) return fail(res, 404, 'EntryNotFound', `${path} does not exist`)
  const common = { 'x-repo-commit': repo.sha }
  if (file.lfs) {
    res
      .writeHead(302, {
        ...common,
        location: `/cdn/${sha256(file.data)}`,
        'x-linked-etag': `"${sha256(file.data)}"`,
        'x-linked-size': String(file.data.length),
      })
      .end()
    return
  }
  serveBytes(hub, req, res, file, { ...common, etag: `"${gitBlobSha1(file.data)}"` })
}

function serveInfo(res: ServerResponse, repo: FakeRepo): void {
  const siblings =
    repo.rawSiblings ??
    repo.files.map((f) => ({
      rfilename: f.path,
      size: f.data.length,
      blobId: gitBlobSha1(f.data),
      ...(f.lfs && { lfs: { sha256: sha256(f.data), size: f.data.length, pointerSize: 134 } }),
    }))
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ id: repo.id, modelId: repo.id, sha: repo.sha, siblings }))
}

function serveBytes(
  hub: FakeHub,
  req: IncomingMessage,
  res: ServerResponse,
  file: FakeFile,
  headers: Record<string, string>,
): void {
  const data = hub.corrupt.get(file.path) ?? file.data
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
  const start = range ? Number(range[1]) : 0
  if (start > data.length) {
    res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end()
    return
  }
  const body = data.subarray(start)
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'accept-ranges': 'bytes',
    'content-length': String(body.length),
    ...(range && { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` }),
  })
  const drop = hub.drops.find((d) => d.path === file.path && d.times > 0)
  if (drop && drop.bytes < body.length) {
    drop.times--
    const cut = () => (drop.hang ? undefined : setTimeout(() => res.socket?.destroy(), 20))
    res.write(body.subarray(0, drop.bytes), cut)
    return
  }
  res.end(body)
}
