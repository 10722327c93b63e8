import { basename } from 'node:path'
import { type Checkpoint, openCheckpoint } from '../../checkpoint/checkpoint.js'
import { resolveModel } from '../../checkpoint/resolve.js'
import { UsageError } from '../../util/errors.js'
import { table } from '../../util/format.js'
import { formatBytes } from '../../util/progress.js'
import { type Command, parseFlags } from '../command.js'

const HELP = `Usage: anemll show <model> [--json] [--quiet]

Shows what anemll reads from a checkpoint before converting it: the normalized config (Hugging
Face key names, defaults filled in), the generation defaults, the tensor count, parameters and
bytes by stored dtype (for GGUF files, by quant type: Q4_K, Q8_0, ...), and where the tokenizer
comes from.

<model> is a Hugging Face model folder (config.json + safetensors, sharded or not), a .gguf
file (llama, qwen2, qwen3 architectures), or a Hub id org/name[@revision] (downloaded into the
Hugging Face cache first; HF_TOKEN, HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE apply).

Options:
  --json    print everything as one JSON object, for scripts
  --quiet   no download progress

Examples:
  anemll show ./SmolLM2-135M-Instruct
  anemll show Qwen/Qwen3-0.6B
  anemll show SmolLM2-135M-Instruct.Q4_1.gguf --json | jq .tensors.byDtype`

/** Tensors, parameters and bytes of one stored dtype. */
export interface DtypeStat {
  tensors: number
  parameters: number
  bytes: number
}

/** What `anemll show` reports (the --json output). */
export interface ShowSummary {
  path: string
  source: Checkpoint['source']['kind']
  config: Checkpoint['config']
  generationConfig: Checkpoint['generationConfig']
  tensors: { count: number; parameters: number; bytes: number; byDtype: Record<string, DtypeStat> }
  tokenizer: Record<string, string | number | boolean>
}

/** Gathers the summary; reads tensor headers only, never tensor data. */
export function describeCheckpoint(path: string, ck: Checkpoint): ShowSummary {
  const byDtype: Record<string, DtypeStat> = {}
  let parameters = 0
  let bytes = 0
  for (const name of ck.tensorNames()) {
    const t = ck.tensorInfo(name)
    const n = t.shape.reduce((a, b) => a * b, 1)
    const s = (byDtype[t.dtype] ??= { tensors: 0, parameters: 0, bytes: 0 })
    s.tensors++
    s.parameters += n
    s.bytes += t.bytes
    parameters += n
    bytes += t.bytes
  }
  const count = ck.tensorNames().length
  return {
    path,
    source: ck.source.kind,
    config: ck.config,
    generationConfig: ck.generationConfig,
    tensors: { count, parameters, bytes, byDtype },
    tokenizer: describeTokenizer(ck.tokenizerSource),
  }
}

function describeTokenizer(t: Checkpoint['tokenizerSource']): ShowSummary['tokenizer'] {
  if (t.kind === 'hf') {
    const { kind: _k, dir: _d, ...files } = t
    return Object.fromEntries(Object.entries(files).map(([k, p]) => [k, basename(p)]))
  }
  const m = t.metadata
  const tokens = m.get('tokenizer.ggml.tokens')
  const out: ShowSummary['tokenizer'] = { model: String(m.get('tokenizer.ggml.model') ?? 'none') }
  if (m.has('tokenizer.ggml.pre')) out.pre = String(m.get('tokenizer.ggml.pre'))
  if (Array.isArray(tokens)) out.tokens = tokens.length
  out.chatTemplate = typeof m.get('tokenizer.chat_template') === 'string'
  return out
}

const params = (n: number): string => {
  const [div, unit] =
    n >= 1e9 ? [1e9, 'B'] : n >= 1e6 ? [1e6, 'M'] : n >= 1e3 ? [1e3, 'K'] : [1, '']
  return div === 1 ? String(n) : `${(n / div).toFixed(div === 1e9 ? 2 : 1)}${unit}`
}
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
const value = (v: unknown) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))

/** The human-readable form. */
export function renderShow(s: ShowSummary): string {
  const { model_type, architectures, ...rest } = s.config
  const arch = architectures.length ? ` (${architectures.join(', ')})` : ''
  const dtypes = Object.entries(s.tensors.byDtype)
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .map(([k, v]) => [k, plural(v.tensors, 'tensor'), params(v.parameters), formatBytes(v.bytes)])
  const g = s.generationConfig
  return [
    s.path,
    `  ${s.source === 'gguf' ? 'GGUF file' : 'Hugging Face folder'} · ${model_type}${arch}`,
    '',
    'config',
    table(
      Object.entries(rest).map(([k, v]) => [k, value(v)]),
      '  ',
    ),
    '',
    'generation',
    table(
      Object.entries(g).map(([k, v]) => [k, value(v)]),
      '  ',
    ),
    '',
    `tensors  ${s.tensors.count} · ${params(s.tensors.parameters)} parameters · ${formatBytes(s.tensors.bytes)}`,
    table(dtypes, '  '),
    '',
    'tokenizer',
    Object.keys(s.tokenizer).length
      ? table(
          Object.entries(s.tokenizer).map(([k, v]) => [k, String(v)]),
          '  ',
        )
      : '  (no tokenizer files)',
  ].join('\n')
}

export const showCommand: Command = {
  name: 'show',
  summary: 'show the config, tensors and tokenizer anemll reads from a model folder or .gguf',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags('show', {
      args: argv,
      options: { json: { type: 'boolean' }, quiet: { type: 'boolean' } },
      allowPositionals: true,
    })
    if (positionals.length !== 1)
      throw new UsageError("expected one model. See 'anemll show --help'.")
    const { path } = await resolveModel(positionals[0], { quiet: values.quiet })
    const summary = describeCheckpoint(path, await openCheckpoint(path))
    console.log(values.json ? JSON.stringify(summary, null, 2) : renderShow(summary))
    return 0
  },
}
