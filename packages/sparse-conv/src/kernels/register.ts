import * as tf from '@tensorflow/tfjs-core';
import { registerConv3x3FewGradient } from './conv3x3-few-grad';
import { registerHostKernels } from './host-kernels';
import { GATED_RESIDUAL_ROWS, MASKED_CONV, SPARSE_IM2COL } from './kernel-names';
import { registerRowCopyGradients } from './row-copies-grad';
import { registerRowCopyKernels } from './row-copies';
import { hostLoops } from './simd/host-loops';
import { registerWebGPUKernels } from './webgpu-kernels';

let registered = false;

/**
 * Registers this package's kernels on first use rather than at import (the package is side-effect
 * free). Registering for a backend that is not loaded only stores the function.
 */
export function ensureKernels(): void {
  if (registered) return;
  registered = true;
  registerHostKernels();
  registerWebGPUKernels();
  registerConv3x3FewGradient();
  registerRowCopyKernels();
  registerRowCopyGradients();
}

/** hasKernel's answers per backend: this package registers its kernels once and never removes them. */
const kernelsByBackend = new Map<string, Map<string, boolean>>();

/** Whether the active backend has this package's kernel `name` (registering them on first use). */
export function hasKernel(name: string): boolean {
  ensureKernels();
  const backend = tf.getBackend();
  let known = kernelsByBackend.get(backend);
  if (!known) {
    known = new Map();
    kernelsByBackend.set(backend, known);
  }
  // a pass asks hundreds of times; tfjs's lookup builds its key string each time
  let has = known.get(name);
  if (has === undefined) {
    has = tf.getKernel(name, backend) !== undefined;
    known.set(name, has);
  }
  return has;
}

/** Whether the active backend is wasm with this package's WebAssembly SIMD loops bound to its heap. */
export function hasSimdLoops(): boolean {
  ensureKernels();
  return tf.getBackend() === 'wasm' && hostLoops(tf.backend()) !== null;
}

/** Whether the active backend has the row kernels (cpu, wasm); others use the generic gather path. */
export function hasRowKernels(): boolean {
  return hasKernel(SPARSE_IM2COL);
}

/** Whether the active backend has the on-GPU masked conv (webgpu): sparse without a mask readback. */
export function hasMaskedConvKernel(): boolean {
  return hasKernel(MASKED_CONV);
}

/** Whether the active backend fuses the depth node's epilogue with the scatter (cpu, wasm). */
export function hasGatedResidualKernel(): boolean {
  return hasKernel(GATED_RESIDUAL_ROWS);
}

/**
 * Whether sparse convs on the active backend keep their masks on the device (webgpu) instead of
 * reading them back (cpu, wasm, and the generic path): a caller may then skip work on a readback
 * of its own only where masks are read anyway.
 */
export function masksStayOnDevice(): boolean {
  return hasMaskedConvKernel();
}
