import * as tf from '@tensorflow/tfjs-core';
import { release } from './kernel-call';

/**
 * tfjs-backend-webgpu's AddN binds every input as its own storage buffer, and WebGPU guarantees
 * only 8 per shader stage (browsers and Dawn enforce it): a sum of more inputs is an invalid
 * pipeline that writes nothing, so the head's cost sums and the gradient sums of weights shared
 * across five levels came out as zeros. This adds at most `maxInputs` tensors per dispatch.
 */
export function addNInChunksConfig(original: tf.KernelConfig, maxInputs = 7): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const add = (infos: tf.TensorInfo[]) =>
      original.kernelFunc({ inputs: infos as unknown as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
    let level = inputs as unknown as tf.TensorInfo[];
    const made: tf.TensorInfo[] = [];
    while (level.length > maxInputs) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < level.length; i += maxInputs) {
        const chunk = level.slice(i, i + maxInputs);
        if (chunk.length === 1) {
          next.push(chunk[0]);
          continue;
        }
        const sum = add(chunk);
        made.push(sum);
        next.push(sum);
      }
      level = next;
    }
    const out = add(level);
    release(backend as tf.KernelBackend, ...made);
    return out;
  };
  return { ...original, kernelFunc };
}
