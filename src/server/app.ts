// The HTTP layer: routes, auth, CORS and body limits on hono; the work is in run.ts (scheduling
// and generation) and openai.ts (shapes). Errors leave in OpenAI's shape.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'
import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import { streamSSE } from 'hono/streaming'
import { AnemllError } from '../util/errors.js'
import { ApiError, modelNotFound } from './errors.js'
import {
  chatJob,
  chunkBody,
  completionBody,
  completionJob,
  finishReason,
  usageChunkBody,
  type Head,
  type Job,
} from './openai.js'
import type { ModelEntry, Registry } from './registry.js'
import { ClientGone, generate, prepare, type GenerationRecord } from './run.js'
import { chatRequest, completionRequest, parseBody } from './schema.js'
import { serveWebApp } from './web.js'

export interface AppOptions {
  registry: Registry
  /** Required as `Authorization: Bearer <key>` on /v1 when set. */
  apiKey?: string
  /** Origin allowed by CORS ('*' for any); no CORS headers when unset. */
  cors?: string
  /** Largest request body in bytes. */
  maxBodyBytes: number
  /** Interval of SSE keep-alive comments while a streamed reply has no token yet. */
  keepAliveMs: number
  /** Called with every finished generation. */
  observe?: (r: GenerationRecord) => void
  /** Reports unexpected (internal) errors. */
  log?: (message: string) => void
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Compares in constant time (hashes first, so the lengths match too). */
function keyMatches(given: string, key: string): boolean {
  return timingSafeEqual(digest(given), digest(key))
}

function modelObject(e: ModelEntry): object {
  return {
    id: e.id,
    object: 'model',
    created: 0,
    owned_by: 'anemll',
    // extension: what the registry knows (OpenAI clients ignore extra fields)
    anemll: {
      name: e.meta.name ?? null,
      architecture: e.meta.architecture ?? null,
      context: e.meta.context,
      bytes: e.bytes,
      loaded: !!e.loaded,
      busy: e.lock.busy,
      waiting: e.lock.waiting,
    },
  }
}

export function createApp(o: AppOptions): Hono {
  const app = new Hono()
  if (o.cors) app.use('*', cors({ origin: o.cors }))
  app.use('/v1/*', async (c, next) => {
    if (!o.apiKey) return next()
    const h = c.req.header('authorization') ?? ''
    const given = h.startsWith('Bearer ') ? h.slice(7) : ''
    if (!keyMatches(given, o.apiKey))
      throw new ApiError(
        401,
        'a valid API key is required: send Authorization: Bearer <key>',
        'authentication_error',
        null,
        'invalid_api_key',
      )
    return next()
  })
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: o.maxBodyBytes,
      onError: () => {
        throw new ApiError(413, `the request body is larger than ${o.maxBodyBytes} bytes`)
      },
    }),
  )

  app.get('/health', (c) => c.json({ status: 'ok' }))
  serveWebApp(app)
  app.get('/v1/models', (c) => c.json({ object: 'list', data: o.registry.list().map(modelObject) }))
  app.get('/v1/models/:id{.+}', (c) => {
    const e = o.registry.get(c.req.param('id'))
    if (!e) throw modelNotFound(c.req.param('id'))
    return c.json(modelObject(e))
  })
  app.post('/v1/chat/completions', async (c) =>
    respond(c, chatJob(parseBody(chatRequest, await c.req.text())), o),
  )
  app.post('/v1/completions', async (c) =>
    respond(c, completionJob(parseBody(completionRequest, await c.req.text())), o),
  )

  app.notFound((c) =>
    c.json(
      new ApiError(404, `no route ${c.req.method} ${c.req.path}`, 'not_found_error').body,
      404,
    ),
  )
  app.onError((err, c) => {
    if (err instanceof ApiError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v)
      return c.json(err.body, err.status)
    }
    if (err instanceof ClientGone) return c.body(null, 499 as never)
    // AnemllErrors name the file or part at fault; anything else is a bug worth logging whole
    o.log?.(err instanceof AnemllError ? err.message : (err.stack ?? String(err)))
    return c.json(new ApiError(500, err.message, 'server_error').body, 500)
  })
  return app
}

async function respond(c: Context, job: Job, o: AppOptions): Promise<Response> {
  const signal = c.req.raw.signal
  const p = await prepare(o.registry, job, signal)
  const head: Head = {
    id: `${job.endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    model: job.model,
  }
  if (!job.stream) {
    try {
      const it = generate(p, job, signal, o.observe)
      let text = ''
      for (;;) {
        const r = await it.next()
        if (r.done) return c.json(completionBody(job, head, text, r.value.stats))
        text += r.value
      }
    } finally {
      p.release() // a no-op once generate released it
    }
  }
  return streamSSE(c, async (s) => {
    const send = (body: object) => s.writeSSE({ data: JSON.stringify(body) })
    const ac = new AbortController()
    const stop = () => ac.abort()
    signal.addEventListener('abort', stop, { once: true })
    s.onAbort(stop)
    // comments keep proxies and clients from timing out during a long prefill
    const keepAlive = setInterval(() => void s.write(': keep-alive\n\n'), o.keepAliveMs)
    const it = generate(p, job, ac.signal, o.observe)
    try {
      if (job.endpoint === 'chat')
        await send(chunkBody(job, head, { role: 'assistant', content: '' }))
      for (;;) {
        const r = await it.next()
        clearInterval(keepAlive)
        if (r.done) {
          await send(chunkBody(job, head, {}, finishReason(r.value.stats.stopReason)))
          if (job.includeUsage) await send(usageChunkBody(job, head, r.value.stats))
          await s.writeSSE({ data: '[DONE]' })
          return
        }
        await send(chunkBody(job, head, { content: r.value }))
      }
    } catch (err) {
      // headers are gone: the error travels as an event the official clients raise
      o.log?.((err as Error).stack ?? String(err))
      await send(new ApiError(500, (err as Error).message, 'server_error').body)
    } finally {
      clearInterval(keepAlive)
      signal.removeEventListener('abort', stop)
      await it.return(undefined as never)
      p.release()
    }
  })
}
