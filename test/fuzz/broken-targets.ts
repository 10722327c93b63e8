// Parsers broken on purpose, to show the fuzz harness catches each kind of failure.
import fc from 'fast-check'
import type { FuzzTarget } from './targets.js'

const bytes = () => fc.uint8Array({ minLength: 1, maxLength: 8 })

export const TARGETS: FuzzTarget[] = [
  {
    name: 'hangs',
    inputs: bytes,
    parse: () => {
      for (;;);
    },
  },
  {
    name: 'throws a TypeError',
    inputs: bytes,
    parse: (input) => {
      if (input[0] > 8) (undefined as unknown as { x: number }).x = 1
    },
  },
  { name: 'prints', inputs: bytes, parse: () => console.warn('careful') },
]
