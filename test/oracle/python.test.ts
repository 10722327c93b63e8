import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'

import { findPython, noPython, requirePython, runPython, runPythonCode } from './python.js'

/** Runs fn with some environment variables set (undefined = removed), then restores them. */
function withEnv(vars: Record<string, string | undefined>, fn: () => void): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  const apply = (v: Record<string, string | undefined>): void => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k]
      else process.env[k] = x
    }
  }
  apply(vars)
  try {
    fn()
  } finally {
    apply(saved)
  }
}

test('findPython: ANEMLL_PYTHON wins, else the venv under ANEMLL_CACHE if it exists', () => {
  withEnv({ ANEMLL_PYTHON: '/opt/some/python' }, () =>
    assert.equal(findPython(), '/opt/some/python'),
  )
  const empty = mkdtempSync(join(tmpdir(), 'anemll-cache-'))
  try {
    withEnv({ ANEMLL_PYTHON: undefined, ANEMLL_CACHE: empty }, () =>
      assert.equal(findPython(), undefined),
    )
  } finally {
    rmSync(empty, { recursive: true })
  }
})

test('a missing Python skips locally but fails under CI', () => {
  const empty = mkdtempSync(join(tmpdir(), 'anemll-cache-'))
  try {
    withEnv({ ANEMLL_PYTHON: undefined, ANEMLL_CACHE: empty, CI: undefined }, () => {
      assert.match(String(noPython()), /setup-python\.sh/)
    })
    withEnv({ ANEMLL_PYTHON: undefined, ANEMLL_CACHE: empty, CI: 'true' }, () => {
      assert.equal(noPython(), false)
      assert.throws(() => requirePython(), /oracle Python not found/)
    })
  } finally {
    rmSync(empty, { recursive: true })
  }
})

test('runPython / runPythonCode: stdout, stderr, exit status, stdin', { skip: noPython() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'anemll-py-'))
  try {
    const script = join(dir, 'echo.py')
    writeFileSync(
      script,
      'import sys\nprint(" ".join(sys.argv[1:]))\nsys.stderr.write("err\\n")\nsys.exit(3)\n',
    )
    const r = runPython(script, ['a', 'b'])
    assert.deepEqual(r, { stdout: 'a b\n', stderr: 'err\n', status: 3 })
    const c = runPythonCode('import sys; print(sys.stdin.read().upper())', [], { input: 'hi' })
    assert.equal(c.stdout, 'HI\n')
    assert.equal(c.status, 0)
  } finally {
    rmSync(dir, { recursive: true })
  }
})

test('coremltools import noise is removed from stderr', { skip: noPython() }, () => {
  const r = runPythonCode('import coremltools, numpy; print(coremltools.__version__)')
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^\d+\.\d+/)
  assert.doesNotMatch(r.stderr, /_MLModelProxy/)
})
