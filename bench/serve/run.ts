// The server's performance against the engine it wraps (issue 14, Performance), in one run on
// 127.0.0.1, bounded in requests and time:
//   1. streamed decode tok/s through the API (official `openai` client, stream, greedy) against
//      loadModel + generate in this process, interleaved repetitions, ratio of medians;
//   2. time to first token per turn of a 6-turn conversation through the API (prompt cache reused);
//   3. server overhead per request: a max_tokens 1 request through the API against the engine's
//      own call for the same prompt on a cache already holding it (both feed only the last id);
//   4. the server process's RSS over many short requests, sampled every 50.
// The server is a child process (`anemll serve --meta DIR --port 0`) so its RSS is its own.
//
// Usage: npx tsx bench/serve/run.ts [--quick] [--reps 3] [--requests 500] [--budget-min 20]
//   --quick   stories260K (../shared/models/stories260K, context 256) instead of SmolLM2-135M
//             (the Q4_1 GGUF fixture, --lut2 4 --lut3 6 --context 512)
// Conversions are cached under ${ANEMLL_CACHE:-~/.cache/anemll}/bench/ (bench/generate's cache).
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import OpenAI from 'openai'
import { loadModel, type Model } from '../../src/generate/index.js'
import type { GenerationEvent, GenerationResult } from '../../src/generate/types.js'
import { table } from '../../src/util/format.js'
import { requireFixture, SHARED, smollm2Gguf } from '../../test/fixtures/paths.js'
import { BenchModels } from '../generate/speed-models.js'
import { median } from '../generate/speed-report.js'

const { values: v } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string', default: '3' },
    requests: { type: 'string', default: '500' },
    'budget-min': { type: 'string', default: '20' },
  },
})
const REPS = Number(v.reps)
const REQUESTS = Number(v.requests)
const log = (s: string) => process.stderr.write(`${s}\n`)
const now = () => performance.now()

// The whole run is bounded: past the budget the server is killed and the bench fails.
let server: ChildProcess | undefined
setTimeout(
  () => {
    log(`bench/serve: over the ${v['budget-min']} min budget, giving up`)
    server?.kill('SIGKILL')
    process.exit(1)
  },
  Number(v['budget-min']) * 60_000,
)

const cacheRoot = join(process.env.ANEMLL_CACHE ?? join(homedir(), '.cache/anemll'), 'bench')
// BenchModels converts any source convertOptions reads (a GGUF or a HF folder) in a child process;
// its 'q4' names the source it was given, here stories260K's folder in --quick.
const dir = v.quick
  ? new BenchModels(join(SHARED, 'models/stories260K'), join(cacheRoot, 'serve-stories'), {
      context: 256,
      fresh: false,
      log,
    }).converted({ src: 'q4', lut2: 'none', lut3: 'none' })
  : new BenchModels(
      requireFixture(smollm2Gguf(), 'SmolLM2 Q4_1 GGUF'),
      join(cacheRoot, 'smollm2'),
      { context: 512, fresh: false, log },
    ).converted({ src: 'q4', lut2: '4', lut3: '6' })
const MODEL = basename(dir)
const label = v.quick
  ? 'stories260K (fp16, context 256)'
  : 'SmolLM2-135M-Instruct (LUT4/LUT6, context 512)'
const MAX_TOKENS = v.quick ? 96 : 128
const TURN_TOKENS = v.quick ? 16 : 32
log(`bench/serve: ${label} from ${dir}`)

/** Starts `anemll serve` on 127.0.0.1, port 0; resolves with its base URL once it listens. */
async function startServer(): Promise<string> {
  const bin = join(import.meta.dirname, '../../src/cli/bin.ts')
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', bin, 'serve', '--meta', dir, '--host', '127.0.0.1', '--port', '0'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  server = child
  let err = ''
  child.stderr.setEncoding('utf8')
  return new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: string) => {
      err += d
      const m = /on (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(err)
      if (m) resolve(m[1])
      if (err.length > 1 << 16) err = err.slice(-4096) // its per-request log lines
    })
    child.once('exit', (code) => reject(new Error(`anemll serve exited (${code}): ${err}`)))
  })
}

/** The server's resident set from /proc (Linux), in MB. */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`)
  return Number(m[1]) / 1024
}

/** One streamed reply's timing: rate = (n - 1) / (last - first content), the same rule both sides. */
interface Timed {
  text: string
  tokens: number
  ttftMs: number
  decodeTps: number
  totalMs: number
  cached?: number
  prompt?: number
}

const rate = (n: number, ms: number) => (n > 1 && ms > 0 ? ((n - 1) * 1000) / ms : 0)

async function viaApi(
  client: OpenAI,
  messages: OpenAI.ChatCompletionMessageParam[],
  maxTokens: number,
): Promise<Timed> {
  const t0 = now()
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages,
    max_tokens: maxTokens,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  })
  let text = ''
  let first = 0
  let last = 0
  let usage: OpenAI.CompletionUsage | undefined
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta.content
    if (delta) {
      text += delta
      last = now()
      first ||= last
    }
    if (chunk.usage) usage = chunk.usage
  }
  const end = now()
  if (!usage) throw new Error('bench/serve: the stream had no usage chunk')
  return {
    text,
    tokens: usage.completion_tokens,
    ttftMs: first - t0,
    decodeTps: rate(usage.completion_tokens, last - first),
    totalMs: end - t0,
    cached: usage.prompt_tokens_details?.cached_tokens,
    prompt: usage.prompt_tokens,
  }
}

async function viaEngine(
  events: AsyncGenerator<GenerationEvent, GenerationResult>,
  t0: number,
): Promise<Timed> {
  let text = ''
  let first = 0
  let last = 0
  let result: GenerationResult | undefined
  for await (const ev of events) {
    if ((ev.type === 'token' || ev.type === 'text') && ev.text) {
      text += ev.text
      last = now()
      first ||= last
    }
    if (ev.type === 'done') result = ev.result
  }
  const end = now()
  if (!result) throw new Error('bench/serve: the engine ended without a result')
  return {
    text,
    tokens: result.tokens.length,
    ttftMs: first - t0,
    decodeTps: rate(result.tokens.length, last - first),
    totalMs: end - t0,
  }
}

const f = (x: number, d = 1) => x.toFixed(d)
const spread = (xs: number[]) => {
  const m = median(xs)
  return `${f((Math.min(...xs) / m - 1) * 100, 0)}% / +${f((Math.max(...xs) / m - 1) * 100, 0)}% of the median ${f(m)} ms`
}

const url = await startServer()
const pid = server!.pid!
const client = new OpenAI({
  baseURL: `${url}/v1`,
  apiKey: 'bench',
  maxRetries: 0,
  timeout: 120_000,
})
const model: Model = await loadModel(dir, { warmup: true })
const rssStart = rssMb(pid)
log(`server pid ${pid} at ${url}, RSS ${f(rssStart)} MB before the first request`)

// 1. Streamed decode: API vs engine, interleaved, same greedy prompt.
const PROMPT = 'Write a long story about a lighthouse keeper and a storm.'
const msgs = [{ role: 'user' as const, content: PROMPT }]
await viaApi(client, msgs, 8) // loads the model in the server
const api: Timed[] = []
const eng: Timed[] = []
for (let rep = 0; rep < REPS; rep++) {
  api.push(await viaApi(client, msgs, MAX_TOKENS))
  eng.push(
    await viaEngine(model.generate(PROMPT, { maxTokens: MAX_TOKENS, temperature: 0 }), now()),
  )
  log(
    `  rep ${rep + 1}: API ${f(api.at(-1)!.decodeTps)} tok/s, engine ${f(eng.at(-1)!.decodeTps)} tok/s (${api.at(-1)!.tokens} tokens)`,
  )
}
const sameText =
  api.every((a) => a.text === eng[0].text) && eng.every((e) => e.text === eng[0].text)
const apiTps = median(api.map((r) => r.decodeTps))
const engTps = median(eng.map((r) => r.decodeTps))

// 2. TTFT per turn of a conversation (each turn's prompt starts with the last one's ids).
const QUESTIONS = [
  'Tell me about the sea.',
  'What lives in it?',
  'Which of those is the largest?',
  'How deep can it dive?',
  'What does it eat?',
  'Thank you. Summarise what we said.',
]
const convo: OpenAI.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'You are a helpful assistant.' },
]
const turns: Timed[] = []
log('conversation')
for (const q of QUESTIONS) {
  convo.push({ role: 'user', content: q })
  const t = await viaApi(client, convo, TURN_TOKENS)
  turns.push(t)
  log(`  turn ${turns.length}: TTFT ${f(t.ttftMs)} ms, ${t.cached} cached`)
  convo.push({ role: 'assistant', content: t.text })
}

// 3. Overhead: max_tokens 1 through the API (non-streamed) vs the engine's own call, both on a
// cache that already holds the prompt, interleaved.
const OVERHEAD_REPS = 20
const cache = model.newCache()
const overheadApi: number[] = []
const overheadEng: number[] = []
log('overhead')
for (let i = 0; i < OVERHEAD_REPS + 1; i++) {
  const t0 = now()
  await client.chat.completions.create({
    model: MODEL,
    messages: msgs,
    max_tokens: 1,
    temperature: 0,
  })
  const t1 = now()
  const r = await viaEngine(model.generateOn(cache, msgs, { maxTokens: 1, temperature: 0 }), now())
  if (i === 0) continue // both caches filled
  overheadApi.push(t1 - t0)
  overheadEng.push(r.totalMs)
}
const overheadMs = median(overheadApi) - median(overheadEng)

// 4. RSS over many short requests: ten prompts in turn, so the prompt caches are replaced.
const rss: { at: number; mb: number }[] = [{ at: 0, mb: rssMb(pid) }]
const t4 = now()
for (let i = 1; i <= REQUESTS; i++) {
  await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: `Question ${i % 10}: name ${i % 10} colours.` }],
    max_tokens: 4,
    temperature: 0,
  })
  if (i % 50 === 0) {
    rss.push({ at: i, mb: rssMb(pid) })
    log(`  ${i} requests: RSS ${f(rss.at(-1)!.mb)} MB`)
  }
}
const rssSecs = (now() - t4) / 1000
const mbs = rss.map((r) => r.mb)
const [rssFirst, rssLast, rssMax] = [mbs[0], mbs.at(-1)!, Math.max(...mbs)]

server!.kill('SIGTERM')

const rows = [
  ['measure', 'API', 'engine', 'ratio / figure', 'target'],
  [
    `decode tok/s (median of ${REPS}, ${api[0].tokens} tokens)`,
    f(apiTps),
    f(engTps),
    `${f(apiTps / engTps, 2)} API/engine`,
    '>= 0.95',
  ],
  [
    'first-token ms in those runs (median)',
    f(median(api.map((r) => r.ttftMs))),
    f(median(eng.map((r) => r.ttftMs))),
    `API cached tokens ${api.map((r) => r.cached).join('/')}`,
    '',
  ],
  [
    `request ms, max_tokens 1 (median of ${OVERHEAD_REPS})`,
    f(median(overheadApi), 2),
    f(median(overheadEng), 2),
    `${f(overheadMs, 2)} ms overhead`,
    '< 5 ms',
  ],
]
const turnRows = [
  ['turn', 'TTFT ms', 'prompt tokens', 'cached', 'fed', 'reply tokens'],
  ...turns.map((t, i) => [
    String(i + 1),
    f(t.ttftMs),
    String(t.prompt),
    String(t.cached),
    String(t.prompt! - t.cached!),
    String(t.tokens),
  ]),
]
const later = turns.slice(1).map((t) => t.ttftMs)
const rssRows = [
  ['after request', ...rss.map((r) => String(r.at))],
  ['RSS MB', ...rss.map((r) => f(r.mb, 0))],
]
console.log(`bench/serve: ${label}; anemll serve in a child process on 127.0.0.1`)
console.log(`same text API and engine (greedy): ${sameText ? 'yes' : 'NO'}\n`)
console.log(table(rows))
console.log(`\n6-turn conversation through the API (max_tokens ${TURN_TOKENS} a turn):`)
console.log(table(turnRows))
console.log(`turns 2-6 TTFT spread: ${spread(later)} (target within +-25%)`)
console.log(`\nserver RSS over ${REQUESTS} requests (max_tokens 4, ${f(rssSecs, 0)} s):`)
console.log(table(rssRows))
console.log(
  `first ${f(rssFirst, 0)} MB, last ${f(rssLast, 0)} MB, max ${f(rssMax, 0)} MB; last/first ${f(rssLast / rssFirst, 3)}, max/first ${f(rssMax / rssFirst, 3)} (target within 10%)`,
)
process.exit(0)
