// Plain-text tables for CLI output.

/** Left-aligned columns, two spaces apart. */
export function table(rows: string[][], indent = ''): string {
  const widths: number[] = []
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)))
  return rows
    .map((r) => indent + r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]) : c)).join('  '))
    .join('\n')
}
