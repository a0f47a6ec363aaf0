import * as tf from '@tensorflow/tfjs-core';

/** Inputs per AddN: with its output, the 8 storage buffers a WebGPU shader stage gets by default. */
const ADD_N_INPUTS = 7;

/**
 * Sum of many same-shape tensors by a tree of AddNs of up to 7 inputs (one dispatch each on
 * webgpu). tf.addN binds every input to one shader, and WebGPU allows only 8 storage buffers per
 * stage by default: beyond that tfjs-backend-webgpu's AddN pipeline is invalid and the whole
 * command buffer is dropped (silently wrong results).
 */
export function sumTensors<T extends tf.Tensor>(tensors: T[]): T {
  if (tensors.length === 0) throw new Error('sumTensors: nothing to sum');
  return tf.tidy(() => {
    let level: tf.Tensor[] = tensors;
    if (level.length === 1) return tf.clone(level[0]);
    while (level.length > 1) {
      const next: tf.Tensor[] = [];
      for (let i = 0; i < level.length; i += ADD_N_INPUTS) {
        const chunk = level.slice(i, i + ADD_N_INPUTS);
        next.push(chunk.length === 1 ? chunk[0] : tf.addN(chunk));
      }
      level = next;
    }
    return level[0];
  }) as T;
}
