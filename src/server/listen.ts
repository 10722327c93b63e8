// Starts the HTTP server: the app on @hono/node-server, with Node's own limits on how long a
// client may take to send its headers and its request (slow or half-sent requests are cut off).
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { loadModel } from '../generate/engine.js'
import { createApp, type AppOptions } from './app.js'
import { Registry, type RegistryOptions } from './registry.js'

export interface ServeOptions
  extends Omit<AppOptions, 'registry'>, Omit<RegistryOptions, 'load' | 'warn'> {
  host: string
  /** 0 picks a free port. */
  port: number
  /** Milliseconds a client has to send its request headers. */
  headersTimeoutMs: number
  /** Milliseconds a client has to send its whole request (not the reply). */
  requestTimeoutMs: number
  /** How a model is loaded (default: the engine's loadModel). */
  load?: RegistryOptions['load']
  warn?: (message: string) => void
}

export interface RunningServer {
  url: string
  registry: Registry
  server: ServerType
  close(): Promise<void>
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  queue: 16,
  promptCaches: 4,
  maxBodyBytes: 4 * 1024 * 1024,
  keepAliveMs: 15_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const registry = new Registry({ ...o, load: o.load ?? loadModel, warn: o.warn })
  const app = createApp({ ...o, registry })
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        hostname: o.host,
        port: o.port,
        serverOptions: {
          headersTimeout: o.headersTimeoutMs,
          requestTimeout: o.requestTimeoutMs,
          // how often Node checks those timeouts (its default, 30 s, would outlast them)
          connectionsCheckingInterval: Math.min(1000, o.headersTimeoutMs / 2),
        },
      },
      () => resolve(s),
    )
    s.once('error', reject)
  })
  const { address, port } = server.address() as AddressInfo
  const host = address.includes(':') ? `[${address}]` : address
  return {
    url: `http://${host}:${port}`,
    registry,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
      }),
  }
}
