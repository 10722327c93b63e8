// A CoreML ML Program model as we hold it in memory: the MIL program plus the model-level
// description that lives outside MIL (spec version, metadata).
import type { Program } from '../mil/program.js'

export interface ModelMetadata {
  shortDescription?: string
  version?: string
  author?: string
  license?: string
  /** Free-form key/values (`com.github.apple.coremltools.version`, `com.anemll.*`, ...). */
  userDefined: Record<string, string>
}

export interface CoreMLModel {
  /** 9 for iOS18 programs (format doc §3). */
  specVersion: number
  program: Program
  metadata: ModelMetadata
}
