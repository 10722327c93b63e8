// Prompt caching across requests: a model keeps a few KV caches, each holding the ids of one
// conversation. A request takes the cache that shares the longest prefix with its prompt, and
// KvCache.fill feeds only the ids after that prefix (reported as cached_tokens). Our caches have
// no rotating (sliding-window) layers: a full window is re-fed from position 0 (cache.ts) and
// `tokens` always names the ids behind every row, so keying by token prefix is exact.
import type { KvCache } from '../generate/cache.js'
import { commonPrefix } from '../generate/cache.js'

export class PromptCaches {
  readonly capacity: number
  /** Least recently used first. */
  readonly #caches: KvCache[] = []
  readonly #make: () => KvCache

  constructor(make: () => KvCache, capacity: number) {
    this.#make = make
    this.capacity = capacity
  }

  get size(): number {
    return this.#caches.length
  }

  /**
   * The cache to run `ids` on. The one sharing the longest prefix wins, unless that prefix is
   * under half of its ids and there is room for another: a request that diverges from most of
   * a cached conversation then starts a new cache, and the conversation stays for its next turn.
   */
  take(ids: readonly number[]): KvCache {
    let best: KvCache | undefined
    let bestLen = -1
    for (const c of this.#caches) {
      const n = commonPrefix(c.tokens, ids)
      if (n > bestLen) [best, bestLen] = [c, n]
    }
    if (!best || (this.#caches.length < this.capacity && bestLen * 2 < best.tokens.length)) {
      best = this.#make()
      this.#caches.push(best)
      return best
    }
    this.#caches.splice(this.#caches.indexOf(best), 1)
    this.#caches.push(best)
    return best
  }
}
