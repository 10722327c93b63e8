// Every environment variable anemll reads, in TypeScript or in the native C kernels: one row each.
// `anemll --help` and docs/cli.md list this table; TypeScript reads go through `envVar`.

export const ENV_VARS = {
  ANEMLL_NATIVE: '0: TypeScript kernels only (LUT k-means, run-time kernels); same results, slower',
  ANEMLL_THREADS: 'threads of the native kernels (default: the cores, at most 8); read in C',
  ANEMLL_NO_SIMD: 'set: the native kernels skip their AVX2 code (scalar C); read in C',
  ANEMLL_PROFILE: '1: print the time spent per op type when the process exits',
  ANEMLL_API_KEY: 'anemll serve: the API key clients must send (as --api-key)',
  ANEMLL_CACHE: "anemll's cache folder (default ~/.cache/anemll): eval's fp16 references",
  HF_ENDPOINT: 'Hugging Face Hub address (default https://huggingface.co)',
  HF_HOME: 'Hugging Face folder (default $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface)',
  HF_HUB_CACHE: 'Hub download cache (default $HF_HOME/hub)',
  HF_TOKEN: 'Hub access token for gated or private models (else $HF_HOME/token)',
  HUGGING_FACE_HUB_TOKEN: 'older name of HF_TOKEN',
  HF_HUB_OFFLINE: '1: never contact the Hub; models come from the cache only',
  HF_HUB_ETAG_TIMEOUT: 'seconds the Hub file listing may stay silent before a retry (default 10)',
  HF_HUB_DOWNLOAD_TIMEOUT: 'seconds a download may stay silent before it is resumed (default 10)',
  XDG_CACHE_HOME: 'base of the default HF_HOME',
} as const

export type EnvName = keyof typeof ENV_VARS

/** The value of one listed variable, from `env` (default process.env). */
export function envVar(name: EnvName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[name]
}

/** The table as help text: one indented line per variable. */
export function envHelp(): string {
  const width = Math.max(...Object.keys(ENV_VARS).map((k) => k.length))
  return Object.entries(ENV_VARS)
    .map(([k, doc]) => `  ${k.padEnd(width)}  ${doc}`)
    .join('\n')
}
