// bench/generate/speed's output: the side-by-side table, the chat-turn table and one line per
// issue-5 target. Pure functions of the measurements.
import { table } from '../../src/util/format.js'
import type { Run, Turn } from './speed-engines.js'

export interface EngineInfo {
  loadMs: number
  warmupMs: number
  /** Of a fresh process running only this engine (speed-rss.ts). */
  peakRssMb?: number
}

/** One model pair: per prompt, every repetition of each side. */
export interface PairResult {
  name: string
  label: string
  /** Why the pair did not run. */
  skipped?: string
  ours?: EngineInfo
  theirs?: EngineInfo
  rows?: { prompt: string; ours: Run[]; theirs: Run[] }[]
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** "k/n": how many leading tokens two greedy runs share, of the shorter run's length. */
export function sameLead(a: readonly number[], b: readonly number[]): string {
  const n = Math.min(a.length, b.length)
  let k = 0
  while (k < n && a[k] === b[k]) k++
  return `${k}/${n}`
}

const fmt = (x: number | undefined, digits = 1) => (x === undefined ? '-' : x.toFixed(digits))
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`
type Key = 'ttftMs' | 'prefillTps' | 'decodeTps'
const med = (runs: readonly Run[], key: Key) =>
  runs.length ? median(runs.map((r) => r[key])) : undefined
const best = (runs: readonly Run[], key: Key) => {
  if (!runs.length) return undefined
  const xs = runs.map((r) => r[key])
  return key === 'ttftMs' ? Math.min(...xs) : Math.max(...xs)
}
/** "median (best)": on a shared machine the best run shows what the engine can do. */
function cell(runs: readonly Run[], key: Key, digits: number): string {
  const [m, b] = [med(runs, key), best(runs, key)]
  if (m === undefined || b === undefined) return '-'
  return runs.length > 1 ? `${m.toFixed(digits)} (${b.toFixed(digits)})` : m.toFixed(digits)
}

/** Rows: pair, prompt, measure, ours, llama.cpp, ours/llama.cpp. */
export function pairsTable(results: readonly PairResult[]): string {
  const rows = [['pair', 'prompt', 'measure', 'ours', 'llama.cpp', 'ours/llama.cpp']]
  for (const p of results) {
    if (p.skipped) {
      rows.push([p.label, '', `skipped: ${p.skipped}`, '', '', ''])
      continue
    }
    const [o, t] = [p.ours!, p.theirs]
    const load = (e?: EngineInfo) =>
      e ? `${(e.loadMs / 1000).toFixed(1)} (+${(e.warmupMs / 1000).toFixed(1)})` : '-'
    rows.push([p.label, '', 'load s (+warm-up s)', load(o), load(t), ratio(o.loadMs, t?.loadMs)])
    const [ro, rt] = [o.peakRssMb, t?.peakRssMb]
    rows.push(['', '', 'peak RSS MB', fmt(ro, 0), fmt(rt, 0), ratio(ro, rt)])
    for (const r of p.rows!) {
      const n = (runs: Run[]) =>
        runs.length ? `${runs.length} × ${median(runs.map((x) => x.tokens.length))} tok` : '-'
      const line = (measure: string, key: Key, d: number) => {
        const [a, b] = [med(r.ours, key), med(r.theirs, key)]
        const q = ratio(best(r.ours, key), best(r.theirs, key))
        const both =
          r.ours.length > 1 || r.theirs.length > 1 ? `${ratio(a, b)} (${q})` : ratio(a, b)
        return ['', '', measure, cell(r.ours, key, d), cell(r.theirs, key, d), both]
      }
      rows.push(['', r.prompt, 'runs × greedy tokens', n(r.ours), n(r.theirs), ''])
      rows.push(line('TTFT ms (best)', 'ttftMs', 0))
      rows.push(line('prefill tok/s (best)', 'prefillTps', 1))
      rows.push(line('decode tok/s (best)', 'decodeTps', 1))
      const equal = r.theirs.length ? sameLead(r.ours[0].tokens, r.theirs[0].tokens) : '-'
      rows.push(['', '', 'same greedy tokens', equal, '', ''])
    }
  }
  return table(rows)
}

/**
 * One line per rate target: every pair and prompt's ratio of medians (of best runs in
 * parentheses) and whether all medians reach `min`.
 */
export function rateTarget(
  results: readonly PairResult[],
  key: Exclude<Key, 'ttftMs'>,
  min: number,
): string {
  const parts: string[] = []
  let met = true
  for (const p of results)
    for (const r of p.rows ?? []) {
      const [a, b] = [med(r.ours, key), med(r.theirs, key)]
      if (a === undefined || b === undefined) return 'not measured (no llama.cpp)'
      const q = best(r.ours, key)! / best(r.theirs, key)!
      parts.push(`${p.name} ${r.prompt} ${(a / b).toFixed(2)}x (best ${q.toFixed(2)}x)`)
      met &&= a / b >= min
    }
  if (!parts.length) return 'not measured'
  return `${parts.join(', ')} → ${met ? 'met' : 'not met'}`
}

/**
 * How TTFT moves with the conversation length over `turns`: the Theil–Sen slope (median of the
 * pairwise slopes, so one slow outlier turn does not decide it) times the range of lengths,
 * relative to the median TTFT. Independent = within ±25%.
 */
export function growth(turns: readonly Turn[]): string {
  const slopes: number[] = []
  for (let i = 0; i < turns.length; i++)
    for (let j = i + 1; j < turns.length; j++) {
      const dx = turns[j].before - turns[i].before
      if (dx) slopes.push((turns[j].ttftMs - turns[i].ttftMs) / dx)
    }
  const xs = turns.map((t) => t.before)
  const ys = turns.map((t) => t.ttftMs)
  const span = Math.max(...xs) - Math.min(...xs)
  const pct = slopes.length ? (median(slopes) * span * 100) / median(ys) : 0
  const met = Math.abs(pct) <= 25
  return (
    `${pct >= 0 ? '+' : ''}${pct.toFixed(0)}% from ${Math.min(...xs)} to ${Math.max(...xs)} ` +
    `tokens of conversation (median TTFT ${median(ys).toFixed(0)} ms) → ${met ? 'met' : 'not met'}`
  )
}

/** Per turn, the median over repetitions of a chat (the same ids every time: greedy). */
export function medianTurns(reps: readonly (readonly Turn[])[]): Turn[] {
  return reps[0].map((t, i) => ({ ...t, ttftMs: median(reps.map((r) => r[i].ttftMs)) }))
}

/** Per turn: conversation length before it, tokens fed, TTFT and reply length, both sides. */
export function turnsTable(ours: readonly Turn[], theirs?: readonly Turn[]): string {
  const rows = [
    ['turn', 'ours: context', 'fed', 'TTFT ms', 'reply', 'llama.cpp: context', 'fed', 'TTFT ms'],
  ]
  ours.forEach((o, i) => {
    const t = theirs?.[i]
    rows.push([
      String(i + 1),
      String(o.before),
      String(o.fed),
      o.ttftMs.toFixed(0),
      String(o.generated),
      t ? String(t.before) : '-',
      t ? String(t.fed) : '-',
      t ? t.ttftMs.toFixed(0) : '-',
    ])
  })
  return table(rows)
}
