// One generation at a time per model (a KV state is not shareable), the rest wait in FIFO order.
// The wait is bounded: `enter` refuses at once when `maxWaiting` requests wait already, so a
// caller can answer 429 before it commits to a response; a busy model alone never refuses.

/** A place in the queue: `turn` resolves with the release function when it is this caller's turn. */
export interface Ticket {
  turn: Promise<() => void>
  /** Leaves the queue (or releases the turn if it came already); safe to call more than once. */
  cancel(): void
}

export class FifoLock {
  readonly maxWaiting: number
  #busy = false
  readonly #waiting: Array<() => void> = []

  constructor(maxWaiting: number) {
    this.maxWaiting = maxWaiting
  }

  get busy(): boolean {
    return this.#busy
  }

  get waiting(): number {
    return this.#waiting.length
  }

  /** Idle: nobody holds or waits for the lock. */
  get idle(): boolean {
    return !this.#busy && this.#waiting.length === 0
  }

  /** A ticket, or undefined when the queue is full. */
  enter(): Ticket | undefined {
    if (this.#busy && this.#waiting.length >= this.maxWaiting) return undefined
    let state: 'waiting' | 'holding' | 'done' = 'waiting'
    const release = () => {
      if (state !== 'holding') return
      state = 'done'
      this.#next()
    }
    let wake!: () => void
    const turn = new Promise<() => void>((resolve) => {
      wake = () => {
        state = 'holding'
        resolve(release)
      }
    })
    if (this.#busy) this.#waiting.push(wake)
    else {
      this.#busy = true
      wake()
    }
    return {
      turn,
      cancel: () => {
        if (state === 'holding') return release()
        if (state === 'done') return
        state = 'done'
        this.#waiting.splice(this.#waiting.indexOf(wake), 1)
      },
    }
  }

  #next(): void {
    const wake = this.#waiting.shift()
    if (wake) wake()
    else this.#busy = false
  }
}
