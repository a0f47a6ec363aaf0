import * as tf from '@tensorflow/tfjs-core';
import { attrsOf, backendOf, inputsOf, type KernelArgs, readValues, writeOutput } from './kernel-call';

/**
 * The gradient of max pooling: each dy value goes to the FIRST maximum of its window in scan order
 * (rows, then columns), as torch.nn.MaxPool2d's backward and tfjs-backend-cpu's send it. For the
 * ResNet stem's 3x3 / 2 pool of a 2x96x128x16 map, cpu's built-in took 535 ms, and wasm's 27 ms
 * (against 12 here) while dropping the gradient of most tied windows (ReLU zeros).
 */
/** at[d] = index of the first maximum of channel d in a window of rows x cols pixels from `start`. */
function firstMaxima(x: tf.TypedArray, start: number, rows: number, cols: number, rowStride: number, depth: number, best: Float32Array, at: Int32Array): void {
  for (let d = 0; d < depth; d++) {
    best[d] = x[start + d];
    at[d] = start + d;
  }
  for (let r = 0; r < rows; r++) {
    for (let q = r === 0 ? 1 : 0, i = start + r * rowStride + q * depth; q < cols; q++) {
      for (let d = 0; d < depth; d++, i++) {
        const v = x[i];
        if (v > best[d]) {
          best[d] = v;
          at[d] = i;
        }
      }
    }
  }
}

export function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, input } = inputsOf(args, tf.MaxPoolGrad, 'dy', 'input');
  const { filterSize, strides, pad, dimRoundingMode } = attrsOf<tf.MaxPoolGradAttrs>(args);
  const backend = backendOf(args);
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: depth, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const x = readValues(backend, input);
  const g = readValues(backend, dy);
  const dx = new Float32Array(x.length);
  const best = new Float32Array(depth);
  const at = new Int32Array(depth);
  for (let b = 0, o = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = Math.max(0, oy * strideHeight - top);
      const y1 = Math.min(inHeight, oy * strideHeight - top + filterHeight);
      for (let ox = 0; ox < outWidth; ox++, o += depth) {
        const x0 = Math.max(0, ox * strideWidth - left);
        const x1 = Math.min(inWidth, ox * strideWidth - left + filterWidth);
        if (y0 >= y1 || x0 >= x1) continue;
        firstMaxima(x, ((b * inHeight + y0) * inWidth + x0) * depth, y1 - y0, x1 - x0, inWidth * depth, depth, best, at);
        for (let d = 0; d < depth; d++) dx[at[d]] += g[o + d];
      }
    }
  }
  return writeOutput(backend, input.shape, 'float32', dx);
}

export function maxPoolGradConfig(backendName: string): tf.KernelConfig {
  return { kernelName: tf.MaxPoolGrad, backendName, kernelFunc: maxPoolGrad };
}
