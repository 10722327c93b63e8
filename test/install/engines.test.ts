// package.json promises a range of Node versions; every locked package (dev ones included: a clone
// runs `npm install`) must accept all of them, or `npm install` warns EBADENGINE on some of them.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import semver from 'semver'

const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
const promised = (read('package.json').engines as { node: string }).node
const lock = read('package-lock.json') as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>
}

test('every locked package supports every Node version package.json promises', () => {
  const refused = Object.entries(lock.packages)
    .filter(([path]) => path !== '')
    .flatMap(([path, p]) => {
      const want = Array.isArray(p.engines) ? undefined : p.engines?.node
      return want && !semver.subset(promised, want) ? [`${path}@${p.version} wants ${want}`] : []
    })
  assert.deepEqual(refused, [], `package.json promises node ${promised}`)
})

test('the lock file records the promise of package.json', () => {
  const root = lock.packages[''] as { engines?: { node?: string } }
  assert.equal(root.engines?.node, promised)
})
