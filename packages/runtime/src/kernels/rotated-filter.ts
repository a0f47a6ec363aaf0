import type * as tf from '@tensorflow/tfjs-core';
import { callKernel, readValues, release, writeOutput } from './kernel-call';

/**
 * A filter [kh, kw, A, B] rotated 180 degrees, w[kh-1-i, kw-1-j, a, b], as the backprops' forward
 * convs read it: with its two channel axes swapped ([kh, kw, B, A], a conv's backprop input) or not
 * (a depthwise backprop input). On cpu and wasm, whose data a kernel reads synchronously, in one pass
 * over the values: wasm's Reverse kernel took 10.7 ms for a 3x3x128x128 filter, two thirds of the
 * whole conv backprop at 2x6x8 pixels (scratch A/B, 2026-12-03: 15.5 -> 5.7 ms with this pass).
 * Elsewhere through the backend's Reverse (and Transpose).
 */
export function rotatedFilter(backend: tf.KernelBackend, backendName: string, filter: tf.TensorInfo, swapChannels: boolean): tf.TensorInfo {
  const [kh, kw, a, b] = filter.shape;
  if (backendName !== 'cpu' && backendName !== 'wasm') {
    const flipped = callKernel('Reverse', backendName, backend, { x: filter }, { dims: [0, 1] });
    if (!swapChannels) return flipped;
    const swapped = callKernel('Transpose', backendName, backend, { x: flipped }, { perm: [0, 1, 3, 2] });
    release(backend, flipped);
    return swapped;
  }
  const w = readValues(backend, filter);
  const out = new Float32Array(w.length);
  const taps = kh * kw;
  const size = a * b;
  for (let t = 0; t < taps; t++) {
    const from = (taps - 1 - t) * size;
    const to = t * size;
    if (!swapChannels) out.set(w.subarray(from, from + size), to);
    else for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out[to + j * a + i] = w[from + i * b + j];
  }
  return writeOutput(backend, swapChannels ? [kh, kw, b, a] : [kh, kw, a, b], 'float32', out);
}
