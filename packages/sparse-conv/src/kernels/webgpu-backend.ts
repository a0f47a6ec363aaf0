import type * as tf from '@tensorflow/tfjs-core';
import type { WebGPUProgramLike } from './masked-conv-program';
import type { UniformData } from './pyramid-uniforms';

/** The slice of tfjs-backend-webgpu's WebGPUBackend used here (no dependency on the backend package). */
export interface WebGPUBackendLike {
  runWebGPUProgram(program: WebGPUProgramLike, inputs: tf.TensorInfo[], outputDtype: tf.DataType, programDefinedUniform?: UniformData): tf.TensorInfo;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Int32Array | Float32Array): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
  incRef(dataId: tf.DataId): void;
  adapterInfo?: { vendor?: string; architecture?: string };
}

/** Runs a program with its own uniform values, where it has any (pyramid-uniforms.ts). */
export function runProgram(be: WebGPUBackendLike, program: WebGPUProgramLike, inputs: tf.TensorInfo[], dtype: tf.DataType): tf.TensorInfo {
  return be.runWebGPUProgram(program, inputs, dtype, program.uniformData);
}

/**
 * A packed pyramid [P, C] (pyramid.ts) as the map [1, P, 1, C] of its pixels, the shape the
 * programs read their channels from (they find the levels through their uniforms). The same data.
 */
export function asPixelMap(packed: tf.TensorInfo): tf.TensorInfo {
  return { ...packed, shape: [1, packed.shape[0], 1, packed.shape[1]] };
}
