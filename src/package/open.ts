// Opens any CoreML ML Program on disk: an .mlpackage or a compiled .mlmodelc.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { FormatError } from '../util/errors.js'
import type { FromProtoOptions } from './from-proto.js'
import { readCompiledModel } from './mlmodelc.js'
import type { CoreMLModel } from './model.js'
import { readPackage } from './read.js'

export async function openModel(path: string, opts: FromProtoOptions = {}): Promise<CoreMLModel> {
  if (path.replace(/\/+$/, '').endsWith('.mlmodelc') || existsSync(join(path, 'model.mil')))
    return readCompiledModel(path, opts)
  if (path.replace(/\/+$/, '').endsWith('.mlpackage') || existsSync(join(path, 'Manifest.json')))
    return readPackage(path, opts)
  throw new FormatError(path, 'not a CoreML model: expected an .mlpackage or .mlmodelc folder')
}
