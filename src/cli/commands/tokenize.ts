import { readGguf } from '../../formats/gguf.js'
import { isTokenizerFile } from '../../checkpoint/hub.js'
import { resolveModel } from '../../checkpoint/resolve.js'
import { ChatTemplate, type ChatMessage } from '../../tokenizer/chat-template.js'
import { tokenizerFromGguf } from '../../tokenizer/from-gguf.js'
import { Tokenizer } from '../../tokenizer/tokenizer.js'
import { UsageError } from '../../util/errors.js'
import { table } from '../../util/format.js'
import { type Command, parseFlags } from '../command.js'

const HELP = `Usage: anemll tokenize <model> [text] [options]

Shows how a model's tokenizer splits text: one line per token with its id, its vocabulary
string and the text it stands for. The text comes from the argument, or from standard input
when there is none (taken exactly, trailing newline included).

<model> is a Hugging Face model folder, a .gguf file, or a Hub id org/name[@revision]
(downloaded into the Hugging Face cache; HF_TOKEN, HF_ENDPOINT, HF_HOME, HF_HUB_OFFLINE apply).

Options:
  --chat            wrap the text in the model's chat template first (as a user message,
                    with the assistant prompt after it), then tokenize
  --system <text>   with --chat: a system message before the user message
  --no-thinking     with --chat: enable_thinking=false (Qwen3's empty <think></think>)
  --no-special      do not add BOS/EOS (the model's own special tokens in the text still count)
  --json            print { ids, pieces, ... } as one JSON object, for scripts

Examples:
  anemll tokenize ./Qwen3-0.6B "Hello world"
  echo "你好" | anemll tokenize SmolLM2-135M-Instruct.Q4_1.gguf --json
  anemll tokenize HuggingFaceTB/SmolLM2-135M-Instruct "Hi" --chat --system "Be brief."`

/** What `anemll tokenize --json` prints. */
export interface TokenizeResult {
  model: string
  text: string
  /** The chat-template rendering that was tokenized (with --chat). */
  prompt?: string
  ids: number[]
  pieces: string[]
  count: number
}

/** Loads the tokenizer of a folder, .gguf file or Hub id (downloading only tokenizer files). */
export async function loadModelTokenizer(spec: string): Promise<Tokenizer> {
  const model = await resolveModel(spec, { include: isTokenizerFile })
  if (model.kind === 'gguf') return tokenizerFromGguf(readGguf(model.path).metadata, model.path)
  return Tokenizer.load(model.path)
}

/** Tokenizes `text` as the flags ask. */
export function tokenizeText(
  tok: Tokenizer,
  text: string,
  opts: { chat?: boolean; system?: string; thinking?: boolean; special?: boolean },
): { prompt?: string; ids: number[]; pieces: string[] } {
  if (!opts.chat) return tok.encodeWithPieces(text, { addSpecialTokens: opts.special ?? true })
  const chat = ChatTemplate.fromTokenizer(tok)
  if (!chat) throw new UsageError('this model has no chat template; drop --chat')
  const messages: ChatMessage[] = [
    ...(opts.system !== undefined ? [{ role: 'system', content: opts.system }] : []),
    { role: 'user', content: text },
  ]
  const prompt = chat.render(messages, { addGenerationPrompt: true, enableThinking: opts.thinking })
  // The template already holds the special tokens (BOS...), as apply_chat_template assumes.
  return { prompt, ...tok.encodeWithPieces(prompt, { addSpecialTokens: false }) }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('no text: give it as an argument or pipe it in')
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export const tokenizeCommand: Command = {
  name: 'tokenize',
  summary: "show a model's token ids and pieces for some text",
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags('tokenize', {
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        chat: { type: 'boolean' },
        system: { type: 'string' },
        'no-thinking': { type: 'boolean' },
        'no-special': { type: 'boolean' },
      },
    })
    if (positionals.length < 1 || positionals.length > 2)
      throw new UsageError("expected <model> [text]. See 'anemll tokenize --help'.")
    if ((values.system !== undefined || values['no-thinking']) && !values.chat)
      throw new UsageError('--system and --no-thinking need --chat')
    const [spec, arg] = positionals
    const tok = await loadModelTokenizer(spec)
    const text = arg ?? (await readStdin())
    const r = tokenizeText(tok, text, {
      chat: values.chat,
      system: values.system,
      thinking: values['no-thinking'] ? false : undefined,
      special: !values['no-special'],
    })
    const result: TokenizeResult = { model: spec, text, ...r, count: r.ids.length }
    console.log(values.json ? JSON.stringify(result) : render(tok, result))
    return 0
  },
}

function render(tok: Tokenizer, r: TokenizeResult): string {
  const rows = r.ids.map((id, i) => [
    String(id).padStart(6),
    JSON.stringify(r.pieces[i]),
    JSON.stringify(tok.decode([id])),
  ])
  const head = r.prompt !== undefined ? [`prompt: ${JSON.stringify(r.prompt)}`, ''] : []
  return [...head, table([['    id', 'piece', 'text'], ...rows]), '', `${r.count} tokens`].join(
    '\n',
  )
}
