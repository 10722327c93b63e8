// The portable MIL executor: load a function of a CoreML model, create its state, run it.
//
// Tensors: fp16 values are held in Float32Array (every value exactly representable in fp16, each
// op's fp16 output rounded to nearest even), so kernels read them without decoding; arithmetic
// accumulates in float64. Weights are decoded once at load, except LUT-palettized ones, which
// stay packed (LutWeight) and are read a few rows at a time by conv 1×1 and linear.
export { Executable, createState, loadFunction } from './executor.js'
export type { LoadOptions, RunOptions } from './executor.js'
export { State } from './state.js'
export type { StateDecl } from './state.js'
export { Fp16RangeError } from './fp16-check.js'
export type { Fp16Issue } from './fp16-check.js'
export { ExecError, UnsupportedOpError } from './kernel.js'
export type { Kernel, KernelCall } from './kernel.js'
export { KERNEL_TABLE, kernelRow } from './kernels/index.js'
export type { KernelRow } from './kernels/index.js'
export { LutWeight } from './lut.js'
export { HalfWeight } from './half.js'
export { kernelInfo } from './native.js'
export { cloneTensor, fromHalfBits, makeTensor, toHalfBits } from './tensor.js'
export type { RuntimeDType, Tensor, TensorData } from './tensor.js'
export type { InputInfo } from './inputs.js'
