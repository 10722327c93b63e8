import { totalmem } from 'node:os'
import { DEFAULTS, startServer } from '../../server/listen.js'
import { envVar } from '../../util/env.js'
import { UsageError } from '../../util/errors.js'
import { intFlag, parseFlags, type Command } from '../command.js'

const GiB = 1024 ** 3
/** Default memory budget: half the machine's memory. */
const defaultBudget = () => Math.max(1, Math.floor(totalmem() / GiB / 2))

const HELP = () => `Usage: anemll serve [--models <dir>] [--meta <path> ...] [options]

Serves converted models over an OpenAI-compatible HTTP API (/v1/models, /v1/chat/completions,
/v1/completions; streamed or not), for the official openai clients and tools such as Open WebUI.
Every folder with a meta.yaml under --models (three levels deep) is served, by its path there
(e.g. 'qwen3-0.6b'); --meta adds one more, by its folder's name. See docs/serve.md.

Models load on first use and stay loaded while their sizes on disk add up to at most the memory
budget; past it the least recently used idle model is unloaded. One generation runs at a time
per model; other requests wait in a FIFO queue, and past --queue of them get 429 with
Retry-After. A few KV caches per model are kept between requests: a prompt that extends a
cached conversation feeds only its new tokens (usage.prompt_tokens_details.cached_tokens).

Options:
  --models <dir>          folder of converted models
  --meta <path>           a meta.yaml or its folder, served too (repeatable)
  --host <addr>           address to bind (default ${DEFAULTS.host}: this machine only)
  --port <n>              port (default ${DEFAULTS.port}; 0 picks a free one)
  --api-key <key>         require 'Authorization: Bearer <key>' on /v1 (default: $ANEMLL_API_KEY)
  --cors <origin>         send CORS headers for this origin ('*' for any; default: none)
  --queue <n>             requests that may wait per model (default ${DEFAULTS.queue})
  --memory <GiB>          memory budget of loaded models (default ${defaultBudget()}: half of this machine's)
  --prompt-caches <n>     KV caches kept per loaded model (default ${DEFAULTS.promptCaches})

Environment:
  ANEMLL_API_KEY          the API key, when --api-key is not given

Security: without --host the server is reachable from this machine only; binding another
address without an API key prints a warning. Request bodies are limited to
${DEFAULTS.maxBodyBytes / 1024 / 1024} MiB and must send their headers within ${DEFAULTS.headersTimeoutMs / 1000} s.

Examples:
  anemll serve --models ~/models
  anemll serve --meta out/qwen3 --port 8000 --api-key secret
  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\
    -d '{"model": "qwen3", "messages": [{"role": "user", "content": "Hi!"}]}'`

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve converted models: an OpenAI-compatible API and a web chat app (any machine)',
  get help() {
    return HELP()
  },
  async run(argv) {
    const { values: v, positionals } = parseFlags('serve', {
      args: argv,
      options: {
        models: { type: 'string' },
        meta: { type: 'string', multiple: true },
        host: { type: 'string', default: DEFAULTS.host },
        port: { type: 'string' },
        'api-key': { type: 'string' },
        cors: { type: 'string' },
        queue: { type: 'string' },
        memory: { type: 'string' },
        'prompt-caches': { type: 'string' },
      },
      allowPositionals: true,
    })
    if (positionals.length)
      throw new UsageError(`unexpected argument '${positionals[0]}'. See 'anemll serve --help'.`)
    if (!v.models && !v.meta?.length)
      throw new UsageError("give --models <dir> or --meta <path>. See 'anemll serve --help'.")
    const memory = v.memory === undefined ? defaultBudget() : Number(v.memory)
    if (!(memory > 0))
      throw new UsageError(`--memory must be a number of GiB > 0, got '${v.memory}'`)
    const apiKey = v['api-key'] ?? envVar('ANEMLL_API_KEY')
    if (apiKey === '') throw new UsageError('--api-key (or ANEMLL_API_KEY) is empty')
    const warn = (m: string) => process.stderr.write(`anemll serve: ${m}\n`)
    const running = await startServer({
      ...DEFAULTS,
      modelsDir: v.models,
      metas: v.meta,
      host: v.host,
      port: intFlag('port', v.port, 0) ?? DEFAULTS.port,
      apiKey,
      cors: v.cors,
      queue: intFlag('queue', v.queue, 0) ?? DEFAULTS.queue,
      memoryBudget: memory * GiB,
      promptCaches: intFlag('prompt-caches', v['prompt-caches'], 1) ?? DEFAULTS.promptCaches,
      warn,
      log: warn,
      observe: ({ model, result: { stats: s } }) =>
        warn(
          `${model}: ${s.promptTokens} prompt tokens (${s.reusedTokens} cached), ${s.generatedTokens} generated [${s.stopReason}], ${s.decodeTokensPerSecond.toFixed(1)} tok/s`,
        ),
    })
    const loopback = v.host === 'localhost' || v.host === '::1' || v.host.startsWith('127.')
    if (!loopback && !apiKey)
      warn(`listening on ${v.host} without --api-key: anyone who can reach it can use it`)
    const ids = running.registry.list().map((e) => e.id)
    process.stderr.write(
      `anemll serve: ${ids.length} model(s) [${ids.join(', ')}] on ${running.url}/v1\n`,
    )
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    await running.close()
    return 0
  },
}
