// What an architecture file declares: everything the converter knows about one model family.
// A new architecture is one file exporting an `Architecture` and one line in registry.ts.
import type { ModelConfig } from '../checkpoint/config.js'
import type { Fail, Spec } from '../checkpoint/fields.js'
import type { Var } from '../mil/program.js'
import type { LayerContext } from './blocks.js'

export interface Architecture {
  /** config.json `model_type`. */
  modelType: string
  /** The transformers class, for configs built from GGUF metadata. */
  hfClass: string
  /**
   * Config keys beyond the shared ones (checkpoint/config.ts BASE), default overrides, and for
   * multimodal configs the unwrap to the text model's keys.
   */
  config: {
    spec: Spec
    defaults: Record<string, unknown>
    unwrap?(raw: Record<string, unknown>): Record<string, unknown>
  }
  /**
   * Refuses config values that change the math but that `layer` does not compute, with `fail`
   * (one line naming the key). Runs when the config is parsed; `raw` is config.json as read.
   */
  checkConfig(cfg: ModelConfig, raw: Record<string, unknown>, fail: Fail): void
  /** ANEMLL's default file prefix (`llama`, `qwen`, `qwen25`). */
  prefix: string
  /** Number of LM-head outputs logits1..K (ANEMLL: 8 for Llama, 16 for Qwen). */
  splitLmHead: number
  /** `tokenizer_class` of ANEMLL's two-key config.json beside the parts. */
  tokenizerClass: string
  /**
   * Decoder layer `layer` on channel-first hidden states [1, H, 1, S]. `tail` (prefill's last
   * layer) stops after the attention: ANEMLL's runtime ignores that output. The fp16 remedy is
   * part of the graph: every residual update (and the embeddings, see convert/parts.ts) is
   * multiplied by `c.residualScale`, and the residual sums are named `…_attn_residual` /
   * `…_mlp_residual` for the preflight to watch.
   */
  layer(c: LayerContext, x: Var, layer: number, tail: boolean): Var
  /** Embedding hook: the looked-up rows are multiplied by this (Gemma: √hidden_size). */
  embeddingScale?(cfg: ModelConfig): number
  /** RMSNorm gains are (normOffset + w) (Gemma stores zero-centred gains: 1). Default 0. */
  normOffset?: number
  /** Extra meta.yaml `parameters` keys the runtimes read for this architecture. */
  metaParameters?(cfg: ModelConfig): Record<string, string | number | boolean>
  /** Every checkpoint tensor the graph reads for this config (the LM head: see `lmHead`). */
  tensors(cfg: ModelConfig): string[]
  /** Checkpoint tensors known to be unused (e.g. rotary inv_freq buffers). */
  unused: RegExp[]
  /** Weights of one decoder layer, for `--chunk auto`. */
  layerParameters(cfg: ModelConfig): number
  /** llama.cpp's GGUF: `general.architecture`, per-layer tensor names, Q/K row order. */
  gguf?: {
    arch: string
    /** `blk.N.<gguf>` → `model.layers.N.<hf>`. */
    layerNames: Record<string, string>
    /**
     * llama.cpp's converter reorders the rows of Q and K for this architecture (its rope kernel
     * pairs adjacent dims; HF pairs dim i with i + head_dim/2).
     */
    permuteQK: boolean
  }
}

/** An architecture llama.cpp's GGUF files can hold, with its tensor-name mapping. */
export type GgufArchitecture = Architecture & Required<Pick<Architecture, 'gguf'>>
