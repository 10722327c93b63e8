// A Hub endpoint that accepts connections and then says nothing: every attempt gives up after the
// injected timeout, each retry is announced, and the error names the host and the timeout.
// Servers listen on 127.0.0.1 only; timeouts are tens of milliseconds, attempts at most 3.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { downloadSnapshot } from '../../src/checkpoint/hub.js'
import { AnemllError, UsageError } from '../../src/util/errors.js'
import { startFakeHub } from './fake-hub.js'

/** Accepts TCP connections and never sends a byte. */
async function silentServer() {
  const sockets: Socket[] = []
  const server = createServer((s) => void sockets.push(s))
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`
  return {
    host,
    url: `http://${host}`,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy()
        server.close(() => ok())
      }),
  }
}

const home = () => mkdtempSync(join(tmpdir(), 'anemll-hf-silent-'))

test('a silent Hub: retries announced, then one error naming the host and the timeout', async () => {
  const hub = await silentServer()
  try {
    const warnings: string[] = []
    await assert.rejects(
      downloadSnapshot('acme/tiny-model', {
        env: { HF_ENDPOINT: hub.url, HF_HOME: home(), HF_HUB_ETAG_TIMEOUT: '0.05' },
        retryDelayMs: 1,
        onWarning: (m) => warnings.push(m),
      }),
      (e: Error) => {
        assert.ok(e instanceof AnemllError)
        assert.equal(
          e.message,
          `cannot reach the Hub: ${hub.url}: no answer from ${hub.host} within 0.05 s (3 attempts; raise HF_HUB_ETAG_TIMEOUT to wait longer, or set HF_HUB_OFFLINE=1 to use the cache)`,
        )
        return true
      },
    )
    assert.deepEqual(warnings, [
      `no answer from ${hub.host} within 0.05 s; retrying (attempt 2 of 3)`,
      `no answer from ${hub.host} within 0.05 s; retrying (attempt 3 of 3)`,
    ])
  } finally {
    await hub.close()
  }
})

test('a download that stalls mid-file: progress from the start, then an error naming host and timeout', async () => {
  const data = Buffer.alloc(200_000, 7)
  const hub = await startFakeHub([
    {
      id: 'acme/stall',
      sha: 'a'.repeat(40),
      files: [{ path: 'model.safetensors', data, lfs: true }],
    },
  ])
  try {
    hub.drops.push({ path: 'model.safetensors', bytes: 1000, times: 2, hang: true })
    const lines: string[] = []
    const warnings: string[] = []
    const host = new URL(hub.url).host
    await assert.rejects(
      downloadSnapshot('acme/stall', {
        env: { HF_ENDPOINT: hub.url, HF_HOME: home(), HF_HUB_DOWNLOAD_TIMEOUT: '0.05' },
        attempts: 2,
        retryDelayMs: 1,
        progressStream: { isTTY: false, write: (s: string) => lines.push(s) },
        onWarning: (m) => warnings.push(m),
      }),
      new RegExp(
        `model\\.safetensors: network error \\(${host} sent nothing for 0\\.05 s\\); run again to resume \\(or raise HF_HUB_DOWNLOAD_TIMEOUT\\)$`,
      ),
    )
    // A line before the first request, and the bar as soon as the download began.
    assert.equal(lines[0], `acme/stall@main: asking ${hub.url} for the file list\n`)
    assert.match(lines[1], /^acme\/stall .* 0 B\/195 KiB/)
    assert.deepEqual(warnings, [`${host} sent nothing for 0.05 s; retrying (attempt 2 of 2)`])
  } finally {
    await hub.close()
  }
})

test('HF_HUB_ETAG_TIMEOUT must be a number of seconds', async () => {
  await assert.rejects(
    downloadSnapshot('acme/x', { env: { HF_HOME: home(), HF_HUB_ETAG_TIMEOUT: 'soon' } }),
    (e: Error) =>
      e instanceof UsageError && /HF_HUB_ETAG_TIMEOUT='soon' is not a number/.test(e.message),
  )
})

test('anemll show against a silent Hub exits 1 with the retries and one error line', async () => {
  const hub = await silentServer()
  try {
    const bin = join(import.meta.dirname, '../../src/cli/bin.ts')
    const env = {
      ...process.env,
      HF_ENDPOINT: hub.url,
      HF_HOME: home(),
      HF_HUB_ETAG_TIMEOUT: '0.05',
    }
    const r = await new Promise<{ code: number | null; stderr: string }>((ok) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', bin, 'show', 'acme/tiny-model'],
        { env, timeout: 60_000 },
        (err, _out, stderr) => ok({ code: err ? ((err.code as number) ?? null) : 0, stderr }),
      ),
    )
    assert.equal(r.code, 1, r.stderr)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.filter((l) => l.includes('retrying')).length, 2, r.stderr)
    assert.match(
      lines[lines.length - 1],
      new RegExp(`cannot reach the Hub: .*no answer from ${hub.host} within 0.05 s`),
    )
  } finally {
    await hub.close()
  }
})
