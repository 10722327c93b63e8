import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UsageError } from '../util/errors.js'
import { argmax, penalize, Sampler, samplingConfig, seededRandom, topIndices } from './sample.js'

const logits = Float32Array.from([1, 3, 2, 3, 0.5, -1, 2.5, 0])

test('greedy: the lowest id among the maxima; temperature 0 and top-k 1 agree', () => {
  assert.equal(argmax(logits), 1)
  assert.equal(new Sampler().pick(logits), 1)
  assert.equal(new Sampler({ temperature: 0.9, topK: 1, seed: 5 }).pick(logits), 1)
})

test('topIndices: the k largest, largest first, ties by lower id (heap and sort paths)', () => {
  const big = Float32Array.from(
    { length: 1000 },
    (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1,
  )
  for (const k of [1, 5, 100, 300, 1000]) {
    const want = Array.from(big.keys())
      .sort((a, b) => big[b] - big[a] || a - b)
      .slice(0, k)
    assert.deepEqual(Array.from(topIndices(big, k)), want, `k=${k}`)
  }
  assert.deepEqual(Array.from(topIndices(logits, 3)), [1, 3, 6])
})

test('repetition penalty: divides positive logits, multiplies negative ones (HF)', () => {
  const p = penalize(logits, [1, 5, 5], 2)
  assert.equal(p[1], 1.5)
  assert.equal(p[5], -2)
  assert.equal(p[3], 3)
  assert.equal(logits[1], 3, 'the input is not changed')
  // greedy picks the unpenalized 3 now
  assert.equal(new Sampler({ repetitionPenalty: 2 }).pick(logits, [1]), 3)
})

test('the same seed gives the same draws; another seed other draws', () => {
  const draws = (seed: number) => {
    const s = new Sampler({ temperature: 1, seed })
    return Array.from({ length: 50 }, () => s.pick(logits))
  }
  assert.deepEqual(draws(7), draws(7))
  assert.notDeepEqual(draws(7), draws(8))
  const r = seededRandom(1)
  const xs = Array.from({ length: 1000 }, r)
  assert.ok(xs.every((x) => x >= 0 && x < 1))
})

/** Empirical frequencies of `n` draws. */
function frequencies(s: Sampler, n: number, l = logits): number[] {
  const f = new Array<number>(l.length).fill(0)
  for (let i = 0; i < n; i++) f[s.pick(l)]++
  return f.map((x) => x / n)
}

function softmax(x: ArrayLike<number>, t: number, keep: (i: number) => boolean = () => true) {
  const e = Array.from(x, (v, i) => (keep(i) ? Math.exp(v / t) : 0))
  const z = e.reduce((a, b) => a + b, 0)
  return e.map((v) => v / z)
}

const close = (got: number[], want: number[], tol = 0.02) =>
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < tol, `id ${i}: ${g} vs ${want[i]}`))

test('temperature sampling follows softmax(logits / T)', () => {
  close(frequencies(new Sampler({ temperature: 1, seed: 1 }), 20000), softmax(logits, 1))
  close(frequencies(new Sampler({ temperature: 2, seed: 2 }), 20000), softmax(logits, 2))
})

test('top-k keeps the k best, renormalized', () => {
  const keep = new Set([1, 3, 6])
  const want = softmax(logits, 1, (i) => keep.has(i))
  close(frequencies(new Sampler({ temperature: 1, topK: 3, seed: 3 }), 20000), want)
})

test('top-p keeps the smallest most-likely set reaching p; min-p drops the unlikely', () => {
  const p = softmax(logits, 1)
  // sorted: ids 1 and 3 (0.28 each) reach 0.5; with 6 (0.17) 0.73
  assert.ok(p[1] + p[3] >= 0.5 && p[1] < 0.5)
  const two = new Set([1, 3])
  close(
    frequencies(new Sampler({ temperature: 1, topP: 0.5, seed: 4 }), 20000),
    softmax(logits, 1, (i) => two.has(i)),
  )
  // min-p 0.5: keep p_i >= 0.5 · p_max, i.e. logit >= 3 - ln 2 ≈ 2.31: ids 1, 3, 6
  const three = new Set([1, 3, 6])
  close(
    frequencies(new Sampler({ temperature: 1, minP: 0.5, seed: 5 }), 20000),
    softmax(logits, 1, (i) => three.has(i)),
  )
})

test('top-p over a large vocabulary looks past the first 256 candidates when it must', () => {
  // 1000 equal logits: top-p 0.9 must keep 900 ids, so draws spread beyond the first 256
  const flat = new Float32Array(1000)
  const s = new Sampler({ temperature: 1, topP: 0.9, seed: 6 })
  const ids = Array.from({ length: 4000 }, () => s.pick(flat))
  assert.ok(
    ids.some((i) => i >= 256),
    'ids beyond the first 256',
  )
  assert.ok(
    ids.every((i) => i < 900),
    'ids beyond the nucleus never drawn',
  )
})

test('options are checked and defaulted', () => {
  const c = samplingConfig({ seed: 3 })
  assert.deepEqual(c, { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 3 })
  assert.ok(Number.isInteger(samplingConfig().seed))
  for (const bad of [
    { temperature: -1 },
    { topK: 1.5 },
    { topP: 0 },
    { topP: 1.1 },
    { minP: 1 },
    { repetitionPenalty: 0 },
    { seed: 0.5 },
  ])
    assert.throws(() => samplingConfig(bad), UsageError, JSON.stringify(bad))
})
