import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-backend-webgpu's AddN binds every input as its own storage buffer, and browsers allow 8 per
 * shader stage by default (in Node's Dawn too; it prints a validation error, no exception): the head's
 * ~80 cost charges gave a failed pipeline and zeros. This wraps the kernel to add at most
 * `maxInputs` tensors per dispatch, in rounds.
 */
export function chunkWebGPUAddN(maxInputs = 7): void {
  const original = tf.getKernel(tf.AddN, 'webgpu');
  if (!original || (original as { chunked?: boolean }).chunked) return;
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const all = inputs as unknown as tf.TensorInfo[];
    if (all.length <= maxInputs) return original.kernelFunc({ inputs, backend, attrs });
    const made = new Set<tf.TensorInfo>();
    let level = all;
    while (level.length > maxInputs) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < level.length; i += maxInputs) {
        const chunk = level.slice(i, i + maxInputs);
        if (chunk.length === 1) {
          next.push(chunk[0]);
          continue;
        }
        const sum = original.kernelFunc({ inputs: chunk as unknown as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
        made.add(sum);
        next.push(sum);
      }
      level = next;
    }
    const out = original.kernelFunc({ inputs: level as unknown as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
    const b = backend as unknown as { disposeData(dataId: object): void };
    for (const t of made) b.disposeData(t.dataId);
    return out;
  };
  tf.unregisterKernel(tf.AddN, 'webgpu');
  tf.registerKernel({ ...original, kernelFunc, chunked: true } as tf.KernelConfig);
}
