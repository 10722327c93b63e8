// Which state reads may use the state's own buffer instead of a copy, and which slice_updates
// may write into it. A KV-cache update is
//
//   R = read_state(kv) → U1 = slice_update(x = R) → … → Un → write (write_state / coreml_update_state)
//
// where each link is the only reader of the previous one. Done in place, it copies nothing: the
// slice_updates write the new rows into the state buffer and the write finds its data already
// there. Any other read_state may be a view too. Both are safe only while nothing mutates the
// buffer under them: every use of such an alias (the chain's vars, the write's result, views of
// them; function outputs count as used at the end) must come before the state's next mutation
// (a write, or an in-place slice_update of a later chain). Sets that break this fall back to
// copies, which only removes mutations, so the check repeats until nothing changes.
import type { Step } from './plan.js'

const writes = (st: Step) => st.row.state === 'write'

interface AliasSet {
  readonly state: string
  /** The read_state step. */
  readonly read: number
  /** In-place slice_update steps of a chain (empty for a plain view). */
  readonly updates: number[]
  /** The chain's write step, or -1. */
  readonly write: number
  /** Slots that alias the state buffer when this set is accepted. */
  readonly slots: Set<number>
  accepted: boolean
}

const stateOf = (st: Step): string | undefined => Object.values(st.call.stateNames)[0]
const argSlots = (st: Step): number[] => Object.values(st.args).flat()

export function planStateAliases(steps: Step[], outputs: readonly number[]): void {
  const readers = new Map<number, number[]>()
  steps.forEach((st, i) => {
    for (const s of argSlots(st)) readers.set(s, [...(readers.get(s) ?? []), i])
  })
  const END = steps.length
  for (const s of outputs) readers.set(s, [...(readers.get(s) ?? []), END])
  const type = (i: number) => steps[i].call.op.type

  const sets: AliasSet[] = []
  steps.forEach((st, i) => {
    if (type(i) !== 'read_state') return
    const state = stateOf(st)!
    const touches = (j: number) => stateOf(steps[j]) === state
    const set: AliasSet = {
      state,
      read: i,
      updates: [],
      write: -1,
      slots: new Set(),
      accepted: true,
    }
    // follow single-reader slice_updates from the read to a write of the same state
    let cur = st.outputs[0]
    const chain: number[] = []
    for (;;) {
      const r = readers.get(cur) ?? []
      const w = r.find((j) => j < END && writes(steps[j]) && touches(j))
      const data = w === undefined ? undefined : (steps[w].args.data ?? steps[w].args.value)
      if (w !== undefined && data === cur && chain.length > 0) {
        const between = steps.slice(i + 1, w).some((s, k) => touches(i + 1 + k))
        if (!between) {
          set.updates.push(...chain)
          ;(set as { write: number }).write = w
        }
        break
      }
      const next = r.length === 1 ? r[0] : -1
      if (next < 0 || next === END || type(next) !== 'slice_update' || steps[next].args.x !== cur)
        break
      chain.push(next)
      cur = steps[next].outputs[0]
    }
    set.slots.add(st.outputs[0])
    for (const u of set.updates) set.slots.add(steps[u].outputs[0])
    if (set.write >= 0 && type(set.write) === 'coreml_update_state')
      set.slots.add(steps[set.write].outputs[0])
    addViews(steps, readers, set.slots)
    sets.push(set)
  })

  for (let changed = true; changed;) {
    changed = false
    for (const set of sets) {
      if (!set.accepted) continue
      const end = set.write >= 0 ? set.write : set.read
      const next = nextMutation(steps, sets, set.state, end)
      const lastUse = Math.max(...[...set.slots].flatMap((s) => readers.get(s) ?? []), -1)
      if (lastUse >= next) {
        set.accepted = false
        changed = true
      }
    }
  }
  for (const set of sets) {
    if (!set.accepted) continue
    steps[set.read].plannedInPlace = true
    for (const u of set.updates) steps[u].plannedInPlace = true
  }
}

/** Outputs of ops that may be views (the kernel table's `view` rows) share their input's buffer. */
function addViews(steps: Step[], readers: Map<number, number[]>, slots: Set<number>) {
  const todo = [...slots]
  while (todo.length) {
    const s = todo.pop()!
    for (const j of readers.get(s) ?? []) {
      const view = j < steps.length ? steps[j].row.view : undefined
      if (!view?.some((p) => steps[j].args[p] === s)) continue
      const o = steps[j].outputs[0]
      if (!slots.has(o)) {
        slots.add(o)
        todo.push(o)
      }
    }
  }
}

/** The first step after `after` that changes the state's buffer, given the accepted sets. */
function nextMutation(steps: Step[], sets: AliasSet[], state: string, after: number): number {
  let next = steps.length + 1
  for (let j = after + 1; j < steps.length; j++) {
    if (writes(steps[j]) && stateOf(steps[j]) === state) {
      next = j
      break
    }
  }
  for (const s of sets)
    if (s.accepted && s.state === state)
      for (const u of s.updates) if (u > after && u < next) next = u
  return next
}
