// "Did you mean": the closest known name to a typo, by edit distance.

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]
    d[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return d[b.length]
}

/**
 * The known name nearest to `name`, when it is close enough to be a typo (at most 2 edits, or a
 * prefix of exactly one name).
 * @example suggest('inspekt', ['inspect', 'lint']) // 'inspect'
 */
export function suggest(name: string, known: readonly string[]): string | undefined {
  const prefixed = known.filter((k) => k.startsWith(name))
  if (name.length >= 2 && prefixed.length === 1) return prefixed[0]
  const best = known.map((k) => ({ k, d: editDistance(name, k) })).sort((x, y) => x.d - y.d)[0]
  return best && best.d <= Math.min(2, Math.max(1, name.length - 1)) ? best.k : undefined
}
