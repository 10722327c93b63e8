// A GGUF file seen as a Hugging Face checkpoint: HF tensor names and layouts, an HF config built
// from the `<arch>.*` metadata, and the raw metadata for the tokenizer. Which architectures, and
// their per-layer tensor names and Q/K row order, come from their files under src/arch/.

import { findGgufArch, GGUF_ARCHS } from '../arch/registry.js'
import type { GgufArchitecture } from '../arch/types.js'
import {
  readGgufRows,
  type GgufFile,
  type GgufTensorInfo,
  type GgufValue,
  readGguf,
  readGgufTensor,
} from '../formats/gguf.js'
import { DEQUANT_TYPE_NAMES, GGML_TYPES } from '../formats/gguf-quants.js'
import { checkRows, floatsFor } from '../formats/read-range.js'
import { FormatError } from '../util/errors.js'
import type { Checkpoint } from './checkpoint.js'
import { type ModelConfig, type RopeScaling, parseModelConfig } from './config.js'
import { parseGenerationConfig } from './generation-config.js'
import { llama3ScalingFromFreqs } from './llama3-rope.js'

/** GGUF tensor name → HF name for whole-model tensors; per-layer ones (`blk.N.`) by architecture. */
const GLOBAL_NAMES: Record<string, string> = {
  token_embd: 'model.embed_tokens',
  output_norm: 'model.norm',
  output: 'lm_head',
}
/** Consumed while building the config, not a weight. */
const ROPE_FREQS = 'rope_freqs.weight'

/** The HF name of a GGUF tensor of architecture `arch`, or undefined. */
export function hfTensorName(arch: GgufArchitecture, ggufName: string): string | undefined {
  const layer = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(ggufName)
  if (layer) {
    const names = arch.gguf.layerNames
    const hf = Object.hasOwn(names, layer[2]) ? names[layer[2]] : undefined
    return hf && `model.layers.${layer[1]}.${hf}.${layer[3]}`
  }
  const top = /^(\w+)\.(weight|bias)$/.exec(ggufName)
  if (!top || !Object.hasOwn(GLOBAL_NAMES, top[1])) return undefined
  return `${GLOBAL_NAMES[top[1]]}.${top[2]}`
}

/**
 * Undoes llama.cpp's Q/K row permutation. Its converter views each head's rows as
 * [2, head_dim/2] and transposes to [head_dim/2, 2]; so HF row (half * head_dim/2 + j) of a head
 * is GGUF row (2j + half). `data` is row-major [rows, cols].
 */
export function unpermuteRows(
  data: Float32Array,
  rows: number,
  nHead: number,
  out: Float32Array = new Float32Array(data.length),
): Float32Array {
  const cols = data.length / rows
  const hd = rows / nHead
  for (let h = 0; h < nHead; h++) {
    for (let half = 0; half < 2; half++) {
      for (let j = 0; j < hd / 2; j++) {
        const src = (h * hd + 2 * j + half) * cols
        const dst = (h * hd + half * (hd / 2) + j) * cols
        out.set(data.subarray(src, src + cols), dst)
      }
    }
  }
  return out
}

/** Typed metadata reads that name the GGUF key when it is missing or of the wrong type. */
function metaReader(g: GgufFile) {
  const get = (key: string, want: 'number' | 'string'): GgufValue | undefined => {
    const v = g.metadata.get(key)
    if (v !== undefined && typeof v !== want) {
      throw new FormatError(g.path, `metadata '${key}' should be a ${want}, got ${typeof v}`)
    }
    return v
  }
  return {
    num: (key: string) => get(key, 'number') as number | undefined,
    str: (key: string) => get(key, 'string') as string | undefined,
    need: (key: string): number => {
      const v = get(key, 'number')
      if (v === undefined) throw new FormatError(g.path, `metadata '${key}' is missing`)
      return v as number
    },
  }
}

function ropeScaling(
  g: GgufFile,
  arch: string,
  theta: number,
  headDim: number,
): RopeScaling | null {
  const m = metaReader(g)
  const type = m.str(`${arch}.rope.scaling.type`) ?? 'none'
  const freqs = g.tensors.find((t) => t.name === ROPE_FREQS)
  if (type === 'linear')
    return { rope_type: 'linear', factor: m.need(`${arch}.rope.scaling.factor`) }
  if (type !== 'none') {
    throw new FormatError(
      g.path,
      `rope scaling type '${type}' is not supported (supported: none, linear, llama3 rope_freqs)`,
    )
  }
  if (!freqs) return null
  const fit = llama3ScalingFromFreqs(readGgufTensor(g, freqs), theta, headDim)
  if (typeof fit === 'string') throw new FormatError(g.path, `${ROPE_FREQS} ${fit}`)
  return fit
}

/** Builds the HF config.json equivalent from `<arch>.*` and `tokenizer.ggml.*` metadata. */
function buildConfig(
  g: GgufFile,
  row: GgufArchitecture,
  tensors: Map<string, GgufTensorInfo>,
): ModelConfig {
  const m = metaReader(g)
  const arch = row.gguf.arch
  const heads = m.need(`${arch}.attention.head_count`)
  const hidden = m.need(`${arch}.embedding_length`)
  const headDim = m.num(`${arch}.attention.key_length`) ?? hidden / heads
  const ropeDim = m.num(`${arch}.rope.dimension_count`)
  if (ropeDim !== undefined && ropeDim !== headDim) {
    throw new FormatError(
      g.path,
      `partial rotary embeddings (rope.dimension_count ${ropeDim}, head_dim ${headDim}) are not supported`,
    )
  }
  const embed = tensors.get('model.embed_tokens.weight')
  if (!embed) throw new FormatError(g.path, "tensor 'token_embd.weight' is missing")
  const theta = m.num(`${arch}.rope.freq_base`) ?? 10000
  // Stop ids: eos, plus end-of-turn / end-of-message where the vocabulary has them.
  const stops = ['eos', 'eot', 'eom'].map((k) => m.num(`tokenizer.ggml.${k}_token_id`))
  const raw = {
    model_type: row.modelType,
    architectures: [row.hfClass],
    vocab_size: embed.shape[0],
    hidden_size: hidden,
    intermediate_size: m.need(`${arch}.feed_forward_length`),
    num_hidden_layers: m.need(`${arch}.block_count`),
    num_attention_heads: heads,
    num_key_value_heads: m.num(`${arch}.attention.head_count_kv`),
    head_dim: headDim,
    max_position_embeddings: m.num(`${arch}.context_length`),
    rms_norm_eps: m.num(`${arch}.attention.layer_norm_rms_epsilon`),
    rope_theta: theta,
    rope_scaling: ropeScaling(g, arch, theta, headDim),
    tie_word_embeddings: !tensors.has('lm_head.weight'),
    attention_bias: tensors.has('model.layers.0.self_attn.q_proj.bias'),
    mlp_bias: tensors.has('model.layers.0.mlp.gate_proj.bias'),
    bos_token_id: m.num('tokenizer.ggml.bos_token_id') ?? null,
    eos_token_id: [...new Set(stops.filter((v) => v !== undefined))],
    pad_token_id: m.num('tokenizer.ggml.padding_token_id') ?? null,
  }
  return parseModelConfig(raw, `${g.path} (config from GGUF metadata)`)
}

function mapTensors(g: GgufFile, arch: GgufArchitecture): Map<string, GgufTensorInfo> {
  const out = new Map<string, GgufTensorInfo>()
  for (const t of g.tensors) {
    if (t.name === ROPE_FREQS) continue
    const hf = hfTensorName(arch, t.name)
    if (!hf) {
      const known = [
        ...Object.keys(GLOBAL_NAMES),
        ...Object.keys(arch.gguf.layerNames).map((n) => `blk.N.${n}`),
      ]
      throw new FormatError(
        g.path,
        `tensor '${t.name}' has no Hugging Face equivalent (known: ${known.join(', ')})`,
      )
    }
    if (!GGML_TYPES.get(t.type)?.dequant) {
      throw new FormatError(
        g.path,
        `tensor '${t.name}' is ${t.typeName}, which is not supported (supported: ${DEQUANT_TYPE_NAMES.join(', ')})`,
      )
    }
    out.set(hf, t)
  }
  return out
}

/**
 * Opens a GGUF of a registered architecture (general.architecture llama, qwen2, qwen3) as a
 * Checkpoint. Unsupported architectures, tensors or quant types throw FormatError naming the file.
 */
export function openGgufCheckpoint(path: string): Checkpoint {
  const g = readGguf(path)
  const name = g.metadata.get('general.architecture')
  const arch = typeof name === 'string' ? findGgufArch(name) : undefined
  if (!arch) {
    throw new FormatError(
      path,
      `architecture '${String(name)}' is not supported (supported: ${GGUF_ARCHS.join(', ')})`,
    )
  }
  const tensors = mapTensors(g, arch)
  const config = buildConfig(g, arch, tensors)
  const heads: Record<string, number> = {
    q_proj: config.num_attention_heads,
    k_proj: config.num_key_value_heads,
  }
  const get = (name: string): GgufTensorInfo => {
    const t = tensors.get(name)
    if (!t) throw new FormatError(path, `no tensor named '${name}'`)
    return t
  }
  return {
    source: { kind: 'gguf', file: path },
    config,
    generationConfig: parseGenerationConfig({}, path, config),
    tensorNames: () => [...tensors.keys()],
    tensorInfo: (name) => {
      const t = get(name)
      return { dtype: t.typeName, shape: [...t.shape], bytes: t.byteLength }
    },
    readTensor: (name, out) => {
      const t = get(name)
      const proj = /self_attn\.([qk]_proj)\.(weight|bias)$/.exec(name)?.[1]
      if (!arch.gguf.permuteQK || !proj) return readGgufTensor(g, t, out)
      const data = readGgufTensor(g, t)
      const rows = t.shape[0]
      if (rows % (2 * heads[proj]) !== 0) {
        throw new FormatError(
          path,
          `tensor '${t.name}': ${rows} rows do not split into ${heads[proj]} heads of even size`,
        )
      }
      return unpermuteRows(data, rows, heads[proj], floatsFor(data.length, out, `tensor '${name}'`))
    },
    readTensorRows(name, start, end) {
      const t = get(name)
      // Un-permuting q/k needs whole head blocks: those are read whole (they are small).
      if (arch.gguf.permuteQK && /self_attn\.[qk]_proj\./.test(name)) {
        const cols = t.elements / t.shape[0]
        checkRows(path, name, start, end, t.shape[0])
        return this.readTensor(name).slice(start * cols, end * cols)
      }
      return readGgufRows(g, t, start, end)
    },
    tokenizerSource: { kind: 'gguf', file: path, metadata: g.metadata },
  }
}
