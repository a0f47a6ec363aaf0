import * as tf from '@tensorflow/tfjs-core';
import { registerCpuKernels } from './cpu-kernels';
import { SPARSE_IM2COL } from './kernel-names';
import { registerWasmKernels } from './wasm-kernels';

let registered = false;

/**
 * Registers this package's kernels on first use rather than at import (the package is side-effect
 * free). Registering for a backend that is not loaded only stores the function.
 */
export function ensureKernels(): void {
  if (registered) return;
  registered = true;
  registerCpuKernels();
  registerWasmKernels();
}

/** Whether the active backend has the row kernels (cpu, wasm); others use the generic gather path. */
export function hasRowKernels(): boolean {
  ensureKernels();
  return tf.getKernel(SPARSE_IM2COL, tf.getBackend()) !== undefined;
}
