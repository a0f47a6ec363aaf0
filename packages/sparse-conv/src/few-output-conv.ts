import * as tf from '@tensorflow/tfjs-core';
import { FEW_OUTPUT_CONV } from './kernels/kernel-names';
import { hasKernel } from './kernels/register';

/**
 * Backends where a 'same' 3x3 conv to a few channels is faster as one matMul plus a shift-and-sum:
 * a C->1 conv on a 100x167x256 map took 18 ms on wasm (XNNPACK) against 5 ms. cpu has its own
 * kernel (per-pixel dot products, FEW_OUTPUT_CONV) and takes this path only where that is missing.
 */
const MATMUL_BACKENDS = new Set(['cpu', 'wasm']);

/** The 9 one-hot 3x3 filters that move tap t of a [B,H,W,9*k] map to the output pixel. */
function tapSelector(outChannels: number): tf.Tensor4D {
  const taps = new Float32Array(9 * 9 * outChannels);
  for (let t = 0; t < 9; t++) {
    for (let o = 0; o < outChannels; o++) taps[t * 9 * outChannels + o * 9 + t] = 1;
  }
  return tf.tensor4d(taps, [3, 3, 9 * outChannels, 1]);
}

/**
 * 'same' 3x3 conv (stride 1, no bias) from C to a few channels, as a spatial gate's or a
 * predictor's: `z = x . W` ([B,H,W,9k], one column per output channel and tap), then every output
 * pixel sums tap t of z taken at its t-th neighbour (a depthwise conv with one-hot filters). Equal to
 * tf.conv2d up to float rounding (exact sums on cpu); other backends and kernel sizes use tf.conv2d
 * itself. Differentiable everywhere, with tf.conv2d's gradients.
 */
export function conv2dFewOutputs(x: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, cin, cout] = filter.shape;
  if (kh === kw && kh % 2 === 1 && hasKernel(FEW_OUTPUT_CONV)) return fewOutputKernel(x, filter);
  if (kh !== 3 || kw !== 3 || !MATMUL_BACKENDS.has(tf.getBackend())) return tf.conv2d(x, filter, 1, 'same');
  return tf.tidy(() => {
    const [b, h, w] = x.shape;
    // [3,3,C,k] -> [C, k*9], column o*9 + t
    const columns = tf.reshape(tf.transpose(tf.reshape(filter, [9, cin, cout]), [1, 2, 0]), [cin, cout * 9]);
    const z = tf.reshape(tf.matMul(tf.reshape(x, [b * h * w, cin]), columns), [b, h, w, cout * 9]) as tf.Tensor4D;
    const moved = tf.depthwiseConv2d(z, tapSelector(cout), 1, 'same');
    return tf.sum(tf.reshape(moved, [b, h, w, cout, 9]), 4) as tf.Tensor4D;
  });
}

/** cpu's kernel, with tf.conv2d's gradients so that the op stays usable in training code. */
const fewOutputKernel = tf.customGrad(((x: tf.Tensor4D, filter: tf.Tensor4D, save: tf.GradSaveFunc) => {
  save([x, filter]);
  return {
    value: tf.engine().runKernel(FEW_OUTPUT_CONV, { x, filter }) as tf.Tensor4D,
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [sx, sf] = saved as [tf.Tensor4D, tf.Tensor4D];
      // what tfjs-core's Conv2D gradient runs (the tape is off inside a gradient function)
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
      return [
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: sf }, { ...attrs, inputShape: sx.shape } as unknown as tf.NamedAttrMap) as tf.Tensor4D,
        tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: sx, dy }, { ...attrs, filterShape: sf.shape } as unknown as tf.NamedAttrMap) as tf.Tensor4D,
      ];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D;
