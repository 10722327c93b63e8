// Finds and runs the Python test oracles (coremltools, gguf, tokenizers) in their venv.
// Test-only: the product never runs Python. The venv is made by scripts/setup-python.sh.
import { execFile, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Directory of this file: the oracle scripts live here. */
export const ORACLE_DIR = dirname(fileURLToPath(import.meta.url))

const MAX_BUFFER = 512 * 1024 * 1024
const DEFAULT_TIMEOUT_MS = 5 * 60_000
// Linux coremltools wheels lack the CoreML bridge and log one warning per proxy class at import;
// coremltools also warns that scikit-learn is newer than its sklearn converter (unused) supports.
const NOISE = /^.*(Failed to load _ML\w*Proxy|scikit-learn version .* is not supported).*\n?/gm

/** Python of the oracle venv: $ANEMLL_PYTHON, else ~/.cache/anemll/venv/bin/python if present. */
export function findPython(): string | undefined {
  const fromEnv = process.env.ANEMLL_PYTHON
  if (fromEnv) return fromEnv
  const cache = process.env.ANEMLL_CACHE ?? join(homedir(), '.cache/anemll')
  const venv = join(cache, 'venv/bin/python')
  return existsSync(venv) ? venv : undefined
}

/**
 * For `test(name, { skip: noPython() }, fn)`: a skip reason when no oracle Python is found
 * locally, else false. Under CI it is always false, so the test runs and `requirePython()` fails it.
 */
export function noPython(): string | false {
  if (findPython() || process.env.CI) return false
  return 'no oracle Python (run `bash scripts/setup-python.sh` or set ANEMLL_PYTHON)'
}

/** The oracle Python, or throws (a missing oracle fails tests under CI instead of skipping). */
export function requirePython(): string {
  const py = findPython()
  if (!py) {
    throw new Error(
      'oracle Python not found: run `bash scripts/setup-python.sh` and set ANEMLL_PYTHON ' +
        '(or create ~/.cache/anemll/venv)',
    )
  }
  return py
}

/** Result of one Python run; stderr has coremltools' import noise removed. */
export interface PythonResult {
  stdout: string
  stderr: string
  /** Exit code; null when killed (timeout or signal). */
  status: number | null
}

/** Options of runPython / runPythonCode. */
export interface PythonOptions {
  cwd?: string
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string>
  /** Written to the child's stdin. */
  input?: string | Uint8Array
  /** Kills the child after this long (default 5 minutes). */
  timeoutMs?: number
}

function childEnv(extra?: Record<string, string>): NodeJS.ProcessEnv {
  // No __pycache__ litter next to the oracle scripts in the work tree.
  return { ...process.env, PYTHONDONTWRITEBYTECODE: '1', TQDM_DISABLE: '1', ...extra }
}

function run(argv: string[], opts: PythonOptions): PythonResult {
  const r = spawnSync(requirePython(), argv, {
    cwd: opts.cwd,
    env: childEnv(opts.env),
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: MAX_BUFFER,
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  })
  if (r.error && !r.stdout && !r.stderr) throw r.error
  return { stdout: r.stdout ?? '', stderr: (r.stderr ?? '').replace(NOISE, ''), status: r.status }
}

/**
 * Runs a Python script synchronously with the oracle Python. A relative `script` is resolved
 * against test/oracle/.
 * @example runPython('validate_mlpackage.py', [pkg, '--json'])
 */
export function runPython(script: string, args: string[], opts: PythonOptions = {}): PythonResult {
  const path = isAbsolute(script) ? script : resolve(ORACLE_DIR, script)
  return run([path, ...args], opts)
}

/** Runs inline Python (`python -c code args...`); handy for one-off checks and test setup. */
export function runPythonCode(
  code: string,
  args: string[] = [],
  opts: PythonOptions = {},
): PythonResult {
  return run(['-c', code, ...args], opts)
}

/** One tensor in a function signature, as coremltools typed it. */
export interface OracleTensor {
  name: string
  /** MIL dtype name: fp16, fp32, int32, bool, ... (a type name for non-tensors such as lists). */
  dtype: string
  /** null entries are unknown dimensions; null overall for non-tensor values. */
  shape: (number | null)[] | null
}

/** Signature of one function. */
export interface OracleFunction {
  inputs: OracleTensor[]
  outputs: OracleTensor[]
  states: OracleTensor[]
}

/** What validate_mlpackage.py --json reports. */
export interface OracleReport {
  ok: boolean
  /** Why the package is invalid (only when ok is false). */
  error?: string
  specVersion?: number
  defaultFunction?: string
  functions?: Record<string, OracleFunction>
  /** Ops per type per function, as serialized in the proto (nested blocks included). */
  opCounts?: Record<string, Record<string, number>>
  /** Ops per function after re-serializing with coremltools (only with { roundtrip: true }). */
  roundtripOpCounts?: Record<string, number>
  /** The script itself failed on this package (a bug in the oracle, not a verdict). */
  internal?: boolean
}

/** Options of the coremltools validation helpers. */
export interface ValidateOptions {
  /** Also re-serialize each loaded program with coremltools (reports roundtripOpCounts). */
  roundtrip?: boolean
  timeoutMs?: number
}

/**
 * Validates .mlpackage directories with coremltools in one Python process (importing
 * coremltools takes seconds), each on a copy. One report per path, in order; an invalid package
 * gets ok: false and the reason, and a crash of the script on one package gets internal: true.
 * Rejects when the oracle cannot run at all.
 */
export function validateAllWithCoremltools(
  pkgPaths: string[],
  opts: ValidateOptions = {},
): Promise<OracleReport[]> {
  const script = join(ORACLE_DIR, 'validate_mlpackage.py')
  const args = [script, ...pkgPaths.map((p) => resolve(p)), '--json']
  if (opts.roundtrip) args.push('--roundtrip')
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS * Math.max(1, pkgPaths.length / 4)
  return new Promise((done, fail) => {
    execFile(
      requirePython(),
      args,
      { env: childEnv(), encoding: 'utf8', maxBuffer: MAX_BUFFER, timeout },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0
        const lines = stdout.split('\n').filter((l) => l.startsWith('{'))
        if (
          pkgPaths.length > 0 &&
          lines.length === pkgPaths.length &&
          [0, 1, 3].includes(code as number)
        ) {
          done(lines.map((l) => JSON.parse(l) as OracleReport))
          return
        }
        const why = `${stdout.trim().split('\n').pop() ?? ''}\n${stderr.replace(NOISE, '')}`.trim()
        fail(new Error(`validate_mlpackage.py failed (exit ${String(code)}): ${why}`))
      },
    )
  })
}

/**
 * Validates one .mlpackage with coremltools (on a copy; the original is never touched).
 * Resolves with ok: false and the reason when the package is invalid; rejects when the oracle
 * itself cannot run or crashes.
 * @example const r = await validateWithCoremltools('out/model.mlpackage'); assert.ok(r.ok, r.error)
 */
export async function validateWithCoremltools(
  pkgPath: string,
  opts: ValidateOptions = {},
): Promise<OracleReport> {
  const [report] = await validateAllWithCoremltools([pkgPath], opts)
  if (report.internal) throw new Error(`validate_mlpackage.py crashed: ${report.error}`)
  return report
}
