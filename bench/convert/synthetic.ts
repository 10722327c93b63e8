// Writes a synthetic Hugging Face checkpoint with Llama-3.2-1B's shapes: random BF16 weights with
// a normal-like spread (so k-means has real work to do), one safetensors file, a config.json.
// Deterministic (fixed seed) and cached: an existing complete folder is reused.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'

export const LLAMA_1B = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 64,
  vocab_size: 128256,
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-5,
  rope_theta: 500000.0,
  rope_scaling: {
    factor: 32.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  tie_word_embeddings: true,
  hidden_act: 'silu',
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  torch_dtype: 'bfloat16',
}

type Cfg = typeof LLAMA_1B

export function tensorList(c: Cfg): [string, number[]][] {
  const h = c.hidden_size
  const q = c.num_attention_heads * c.head_dim
  const kv = c.num_key_value_heads * c.head_dim
  const out: [string, number[]][] = [['model.embed_tokens.weight', [c.vocab_size, h]]]
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`
    out.push(
      [`${p}.self_attn.q_proj.weight`, [q, h]],
      [`${p}.self_attn.k_proj.weight`, [kv, h]],
      [`${p}.self_attn.v_proj.weight`, [kv, h]],
      [`${p}.self_attn.o_proj.weight`, [h, q]],
      [`${p}.mlp.gate_proj.weight`, [c.intermediate_size, h]],
      [`${p}.mlp.up_proj.weight`, [c.intermediate_size, h]],
      [`${p}.mlp.down_proj.weight`, [h, c.intermediate_size]],
      [`${p}.input_layernorm.weight`, [h]],
      [`${p}.post_attention_layernorm.weight`, [h]],
    )
  }
  out.push(['model.norm.weight', [h]])
  return out
}

/** BF16 bits of random values ~ N(0, scale²) (sum of 4 uniforms), from a xorshift stream. */
function fill(buf: Uint16Array, seed: number, scale: number, norm: boolean): number {
  let s = seed >>> 0 || 1
  const f32 = new Float32Array(1)
  const u32 = new Uint32Array(f32.buffer)
  for (let i = 0; i < buf.length; i++) {
    let acc = 0
    for (let k = 0; k < 4; k++) {
      s ^= s << 13
      s ^= s >>> 17
      s ^= s << 5
      acc += (s >>> 0) / 4294967296
    }
    f32[0] = norm ? 1 + (acc - 2) * 0.1 : (acc - 2) * 1.732 * scale
    buf[i] = u32[0] >>> 16
  }
  return s
}

/** Creates (or reuses) the checkpoint folder; returns its path. */
export function makeSynthetic(dir: string, cfg: Cfg = LLAMA_1B): string {
  if (existsSync(join(dir, 'config.json'))) return dir
  mkdirSync(dir, { recursive: true })
  const list = tensorList(cfg)
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } }
  let offset = 0
  for (const [name, shape] of list) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] }
    offset += bytes
  }
  let json = JSON.stringify(header)
  json += ' '.repeat((8 - (json.length % 8)) % 8)
  const tmp = join(dir, 'model.safetensors.partial')
  const fd = openSync(tmp, 'w')
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(json.length))
  writeSync(fd, len)
  writeSync(fd, Buffer.from(json))
  let seed = 12345
  const CHUNK = 1 << 22
  for (const [name, shape] of list) {
    const n = shape.reduce((a, b) => a * b, 1)
    const scale = 1 / Math.sqrt(shape[shape.length - 1])
    for (let done = 0; done < n; done += CHUNK) {
      const buf = new Uint16Array(Math.min(CHUNK, n - done))
      seed = fill(buf, seed, scale, shape.length === 1)
      writeSync(fd, new Uint8Array(buf.buffer))
    }
    void name
  }
  closeSync(fd)
  renameSync(tmp, join(dir, 'model.safetensors'))
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2))
  return dir
}
