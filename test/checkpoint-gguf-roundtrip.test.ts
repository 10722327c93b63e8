// stories260K written as a llama GGUF the way llama.cpp's converter writes it (Q/K rows permuted,
// keys set by gguf-py's GGUFWriter), then read back: every tensor must equal the HF original.
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { openCheckpoint } from '../src/checkpoint/checkpoint.js'
import { noPython, runPython } from './oracle/python.js'
import { SHARED } from './fixtures/paths.js'

const STORIES = join(SHARED, 'models/stories260K')
const SCRIPT = fileURLToPath(new URL('./fixtures/checkpoint/make_goldens.py', import.meta.url))

test(
  'stories260K → GGUF (gguf-py, llama.cpp permutation) → Checkpoint equals the HF folder',
  { skip: noPython() },
  async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'anemll-rt-')), 'stories260K.gguf')
    const r = runPython(SCRIPT, ['stories', STORIES, out])
    assert.equal(r.status, 0, r.stderr)
    const [hf, gg] = await Promise.all([openCheckpoint(STORIES), openCheckpoint(out)])
    const pick = ({ torch_dtype: _d, ...rest }: typeof hf.config) => rest
    assert.deepEqual(pick(gg.config), pick(hf.config))
    assert.deepEqual(gg.tensorNames().sort(), hf.tensorNames().sort())
    for (const name of hf.tensorNames()) {
      assert.deepEqual(gg.tensorInfo(name).shape, hf.tensorInfo(name).shape, name)
      assert.deepEqual(gg.readTensor(name), hf.readTensor(name), name)
    }
  },
)
