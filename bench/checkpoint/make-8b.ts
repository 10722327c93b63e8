// Writes a synthetic Hugging Face checkpoint shaped like Llama-3.1-8B: 291 BF16 tensors in 4
// safetensors shards with a valid model.safetensors.index.json. The shards are sparse files
// (header written, data left as a hole by ftruncate), so ~16 GB of tensors cost no disk.
//
// Usage: npx tsx bench/checkpoint/make-8b.ts [dir]   (default $ANEMLL_CACHE/bench/llama-3.1-8b-synthetic)

import { closeSync, ftruncateSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** Llama-3.1-8B's config.json (the keys that matter here). */
export const CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  vocab_size: 128256,
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-5,
  rope_theta: 500000.0,
  rope_scaling: {
    factor: 8.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  tie_word_embeddings: false,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  torch_dtype: 'bfloat16',
}

/** [name, shape] of every tensor, in model order. */
export function tensors8b(): [string, number[]][] {
  const { hidden_size: h, intermediate_size: f, vocab_size: v, num_hidden_layers: layers } = CONFIG
  const kv = (h / CONFIG.num_attention_heads) * CONFIG.num_key_value_heads
  const out: [string, number[]][] = [['model.embed_tokens.weight', [v, h]]]
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`
    out.push(
      [p + 'input_layernorm.weight', [h]],
      [p + 'self_attn.q_proj.weight', [h, h]],
      [p + 'self_attn.k_proj.weight', [kv, h]],
      [p + 'self_attn.v_proj.weight', [kv, h]],
      [p + 'self_attn.o_proj.weight', [h, h]],
      [p + 'post_attention_layernorm.weight', [h]],
      [p + 'mlp.gate_proj.weight', [f, h]],
      [p + 'mlp.up_proj.weight', [f, h]],
      [p + 'mlp.down_proj.weight', [h, f]],
    )
  }
  out.push(['model.norm.weight', [h]], ['lm_head.weight', [v, h]])
  return out
}

const bytesOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1) * 2 // BF16

/** Writes one sparse shard: header with real offsets, then a hole up to the full size. */
function writeShard(path: string, list: [string, number[]][]): number {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } }
  let off = 0
  for (const [name, shape] of list) {
    header[name] = { dtype: 'BF16', shape, data_offsets: [off, off + bytesOf(shape)] }
    off += bytesOf(shape)
  }
  let json = JSON.stringify(header)
  json += ' '.repeat((8 - (json.length % 8)) % 8) // safetensors pads the header to 8 bytes
  const head = Buffer.alloc(8 + json.length)
  head.writeBigUInt64LE(BigInt(json.length))
  head.write(json, 8)
  const fd = openSync(path, 'w')
  try {
    writeSync(fd, head)
    ftruncateSync(fd, head.length + off)
  } finally {
    closeSync(fd)
  }
  return off
}

export function make8b(dir: string, shards = 4): void {
  mkdirSync(dir, { recursive: true })
  const all = tensors8b()
  const total = all.reduce((n, [, s]) => n + bytesOf(s), 0)
  const weightMap: Record<string, string> = {}
  let start = 0
  for (let s = 0; s < shards; s++) {
    // Contiguous runs of tensors, cut when a shard reaches its share of the bytes.
    const name = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`
    const list: [string, number[]][] = []
    let bytes = 0
    while (start < all.length && (s === shards - 1 || bytes < total / shards)) {
      list.push(all[start])
      bytes += bytesOf(all[start][1])
      start++
    }
    writeShard(join(dir, name), list)
    for (const [t] of list) weightMap[t] = name
  }
  const index = { metadata: { total_size: total }, weight_map: weightMap }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index, null, 2))
  writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG, null, 2))
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir =
    process.argv[2] ??
    join(
      process.env.ANEMLL_CACHE ?? join(homedir(), '.cache/anemll'),
      'bench/llama-3.1-8b-synthetic',
    )
  make8b(dir)
  console.log(dir)
}
