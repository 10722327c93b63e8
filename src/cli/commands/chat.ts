import { renameSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Model } from '../../generate/engine.js'
import { checkedSampler } from '../../generate/loop.js'
import type { Session } from '../../generate/session.js'
import type { GenerateOptions } from '../../generate/types.js'
import { kernelInfo } from '../../runtime/native.js'
import { UsageError } from '../../util/errors.js'
import { parseFlags, type Command } from '../command.js'
import { GENERATION_FLAGS, generationOptions, openModel, statsLine, streamTo } from './run.js'

const HELP = `Usage: anemll chat --meta <meta.yaml | folder> [options]

Interactive chat with a converted model, on any machine. Replies stream as they are generated.
The conversation is kept (multi-turn) and so is the KV cache: each turn feeds only its own new
tokens. When the conversation outgrows the context, the oldest turns are dropped; when a reply
fills the context, the window shifts (see docs/cli.md).

Options:
  --meta <path>              meta.yaml or the folder holding it (required)
  --system <text>            system message at the start of the conversation
  --no-think                 enable_thinking=false for the template (Qwen3)
  --no-history               every turn starts afresh (ANEMLL chat.py's basic mode)
  --max-tokens <n>           per reply (default: the context length)
  --temperature, --top-k, --top-p, --min-p, --repetition-penalty, --seed, --stop
                             sampling and stopping, as for 'anemll run' (default greedy)

In the chat:
  /reset          forget the conversation (the system message stays)
  /stats          statistics of the last reply and the context in use
  /save <file>    write the conversation as JSON
  /help           this list
  /quit           leave (also Ctrl-D)
  Ctrl-C          stop the reply being generated (the conversation keeps it); at the prompt, leave

Example:
  anemll chat --meta out/qwen3 --system "Answer in one sentence." --no-think`

const IN_CHAT_HELP = `/reset  /stats  /save <file>  /help  /quit   (Ctrl-C stops a reply)`

interface ChatIo {
  out: (text: string) => void
  err: (text: string) => void
}

function saveConversation(file: string, model: Model, session: Session): void {
  const body = {
    model: model.meta.name,
    meta: model.meta.file,
    messages: session.messages,
    contextTokens: session.contextTokens.length,
  }
  writeFileSync(`${file}.partial`, `${JSON.stringify(body, null, 2)}\n`)
  renameSync(`${file}.partial`, file)
}

function statsText(model: Model, session: Session): string {
  const s = session.last?.stats
  const lines = [
    `context: ${session.contextTokens.length}/${model.meta.context} tokens, ${session.messages.length} messages`,
    `kernels: ${kernelInfo()}`,
  ]
  if (!s) return [...lines, 'no reply yet'].join('\n')
  lines.push(
    `last reply: ${s.generatedTokens} tokens, stop: ${s.stopReason}${s.stopToken !== undefined ? ` (id ${s.stopToken})` : ''}`,
    `prompt: ${s.promptTokens} tokens, ${s.reusedTokens} reused from the cache, ${s.prefillTokens} fed in ${s.prefillMs.toFixed(0)} ms (${s.prefillTokensPerSecond.toFixed(1)} tok/s)`,
    `time to first token: ${s.ttftMs.toFixed(0)} ms; decode: ${s.decodeTokensPerSecond.toFixed(1)} tok/s over ${s.decodeMs.toFixed(0)} ms`,
  )
  if (s.windowShifts || s.truncatedTokens || s.droppedMessages)
    lines.push(
      `window: ${s.windowShifts} shift(s), ${s.truncatedTokens} prompt tokens dropped, ${s.droppedMessages} old messages dropped`,
    )
  if (s.seed !== undefined) lines.push(`seed: ${s.seed}`)
  return lines.join('\n')
}

/** Handles a /command; returns false to leave the chat. */
function command(line: string, model: Model, session: Session, io: ChatIo): boolean {
  const [cmd, ...rest] = line.trim().split(/\s+/)
  const arg = line.trim().slice(cmd.length).trim()
  switch (cmd) {
    case '/quit':
    case '/exit':
      return false
    case '/reset':
      session.reset()
      io.err('(conversation cleared)\n')
      return true
    case '/stats':
      io.err(`${statsText(model, session)}\n`)
      return true
    case '/save':
      if (!rest.length) io.err('usage: /save <file>\n')
      else {
        try {
          saveConversation(arg, model, session)
          io.err(`(saved ${session.messages.length} messages to ${arg})\n`)
        } catch (err) {
          // a bad path is a typo at the prompt: say so and keep the conversation
          const e = err as NodeJS.ErrnoException
          if (typeof e.code !== 'string') throw err
          io.err(`cannot save to ${arg}: ${e.message.replace(/, open '.*'$/, '')}\n`)
        }
      }
      return true
    case '/help':
      io.err(`${IN_CHAT_HELP}\n`)
      return true
    default:
      io.err(`unknown command ${cmd}; ${IN_CHAT_HELP}\n`)
      return true
  }
}

export const chatCommand: Command = {
  name: 'chat',
  summary: 'interactive multi-turn chat with a converted model (any machine)',
  help: HELP,
  async run(argv) {
    const { values: v, positionals } = parseFlags('chat', {
      args: argv,
      options: {
        meta: { type: 'string' },
        system: { type: 'string' },
        'no-think': { type: 'boolean', default: false },
        'no-history': { type: 'boolean', default: false },
        ...GENERATION_FLAGS,
      },
      allowPositionals: true,
    })
    if (positionals.length)
      throw new UsageError(`unexpected argument '${positionals[0]}'. See 'anemll chat --help'.`)
    if (!v.meta) throw new UsageError("--meta is required. See 'anemll chat --help'.")
    const opts: GenerateOptions = generationOptions(v)
    const model = await openModel(v.meta)
    checkedSampler(opts, model.argmaxHead)
    const session = model.session({
      system: v.system,
      enableThinking: v['no-think'] ? false : undefined,
    })
    const io: ChatIo = {
      out: (t) => process.stdout.write(t),
      err: (t) => process.stderr.write(t),
    }
    const tty = !!process.stdin.isTTY
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty })
    rl.setPrompt('> ')
    let reply: AbortController | undefined
    const interrupt = () => {
      if (reply) reply.abort()
      else rl.close()
    }
    rl.on('SIGINT', interrupt)
    process.on('SIGINT', interrupt)
    io.err(
      `${model.meta.name ?? 'model'} · context ${model.meta.context}${model.template ? '' : ' · no chat template: plain-text mode'}\n${IN_CHAT_HELP}\n`,
    )
    let quit = false
    try {
      if (tty) rl.prompt()
      for await (const line of rl) {
        const text = line.trim()
        if (text.startsWith('/')) {
          if ((quit = !command(text, model, session, io))) break
        } else if (text) {
          if (v['no-history']) session.reset()
          reply = new AbortController()
          const r = await streamTo(io.out, session.send(line, { ...opts, signal: reply.signal }))
          reply = undefined
          io.out('\n')
          if (r) io.err(`${statsLine(r.stats)}\n`)
        }
        if (tty) rl.prompt()
      }
      // Ctrl-D (or Ctrl-C) at the prompt: end the prompt's line so the shell starts on its own
      if (tty && !quit) io.out('\n')
    } finally {
      process.off('SIGINT', interrupt)
      rl.close()
    }
    return 0
  },
}
