import * as tf from '@tensorflow/tfjs-core';

/**
 * Sum of many same-shape tensors by pairwise adds. tf.addN binds every input to one shader, and
 * WebGPU allows only 8 storage buffers per stage by default: beyond that tfjs-backend-webgpu's
 * AddN pipeline is invalid and the whole command buffer is dropped (silently wrong results).
 */
export function sumTensors<T extends tf.Tensor>(tensors: T[]): T {
  if (tensors.length === 0) throw new Error('sumTensors: nothing to sum');
  return tf.tidy(() => {
    let level: tf.Tensor[] = tensors;
    if (level.length === 1) return tf.clone(level[0]);
    while (level.length > 1) {
      const next: tf.Tensor[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? tf.add(level[i], level[i + 1]) : level[i]);
      level = next;
    }
    return level[0];
  }) as T;
}
