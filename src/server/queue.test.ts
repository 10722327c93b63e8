import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FifoLock } from './queue.js'

test('FifoLock: one holder, waiters served in order, refused only when the queue is full', async () => {
  const lock = new FifoLock(2)
  const order: string[] = []
  const a = lock.enter()!
  const b = lock.enter()!
  const c = lock.enter()!
  assert.equal(lock.enter(), undefined, 'a third waiter is refused')
  assert.equal(lock.waiting, 2)
  b.turn.then((r) => (order.push('b'), r()))
  c.turn.then((r) => (order.push('c'), r()))
  const releaseA = await a.turn
  assert.deepEqual(order, [], 'nobody else runs while a holds the lock')
  releaseA()
  releaseA() // a second release is a no-op, not another waiter's turn
  await c.turn
  assert.deepEqual(order, ['b', 'c'])
  await new Promise((r) => setImmediate(r))
  assert.ok(lock.idle)
})

test('FifoLock: a waiter that leaves frees its place; cancel after the turn releases', async () => {
  const lock = new FifoLock(1)
  const a = lock.enter()!
  const b = lock.enter()!
  b.cancel()
  assert.equal(lock.waiting, 0)
  const c = lock.enter()!
  a.cancel() // a holds the lock: cancel releases it to c
  const release = await c.turn
  assert.ok(lock.busy)
  release()
  assert.ok(lock.idle)
  let bCame = false
  void b.turn.then(() => (bCame = true))
  await new Promise((r) => setImmediate(r))
  assert.equal(bCame, false, 'a cancelled waiter never gets a turn')
})
