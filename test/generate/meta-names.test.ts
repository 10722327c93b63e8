// `run` on a folder whose meta.yaml names parts that are not there, as ANEMLL's
// generate_meta_yaml.py writes it on Linux (compiled names, lut_lmhead none for a LUT6 head).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { anemll } from '../cli/run.js'
import { convertForTest } from '../fidelity/parts.js'
import { SHARED } from '../fixtures/paths.js'

test('run finds a part meta.yaml misnames when one file has its role, with one notice; else lists them', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'anemll-meta-names-'))
  try {
    const dir = await convertForTest(join(SHARED, 'models/stories260K'), join(tmp, 'm'), {
      context: 64,
      batch: 8,
      lut3: { bits: 6, groupSize: 8 },
    })
    const meta = join(dir, 'meta.yaml')
    const yaml = readFileSync(meta, 'utf8')
    assert.match(yaml, /lm_head: llama_lm_head_lut6\.mlmodelc/)
    writeFileSync(
      meta,
      yaml
        .replace('lm_head: llama_lm_head_lut6.mlmodelc', 'lm_head: llama_lm_head.mlmodelc')
        .replace(/lut_lmhead: 6/, 'lut_lmhead: none'),
    )
    const args = ['run', '--meta', dir, '--prompt', 'Once', '--no-template', '--max-tokens', '4']
    const ok = anemll(args)
    assert.equal(ok.code, 0, ok.stderr)
    const notices = ok.stderr.split('\n').filter((l) => l.includes('using llama_lm_head_lut6'))
    assert.equal(notices.length, 1, ok.stderr)
    assert.match(notices[0], /^anemll: .*meta\.yaml: LM head: neither llama_lm_head\.mlmodelc/)

    cpSync(join(dir, 'llama_lm_head_lut6.mlpackage'), join(dir, 'llama_lm_head_lut8.mlpackage'), {
      recursive: true,
    })
    const bad = anemll(args)
    assert.equal(bad.code, 1)
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr)
    assert.match(
      bad.stderr,
      /2 files could be it: llama_lm_head_lut6\.mlpackage, llama_lm_head_lut8\.mlpackage/,
    )
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})
