import * as tf from '@tensorflow/tfjs-core';
import { groupNormInference } from './group-norm';
import { denseConv } from './masked-conv2d';
import type { SparseConvOptions } from './types';
import { validateConvArgs } from './validate';

/**
 * The inference form of a dense layer: 'same' conv (regular or depthwise) (+bias) (+GroupNorm,
 * statistics per image) (+ReLU), with bias, GN and ReLU fused into one kernel on cpu and wasm.
 * Not differentiable: maskedConv2d with an all-ones mask is its training form.
 */
export function convLayer(x: tf.Tensor4D, filter: tf.Tensor4D, opts: Omit<SparseConvOptions, 'method'> = {}): tf.Tensor4D {
  validateConvArgs('convLayer', x, null, filter, opts);
  const relu = opts.post === 'relu';
  return tf.tidy(() => {
    const [b, h, w] = x.shape;
    if (opts.norm) {
      const y = denseConv(x, filter, { ...opts, bias: undefined });
      return groupNormInference(y, new Array<number>(b).fill(h * w), opts.norm, { bias: opts.bias, relu });
    }
    const y = denseConv(x, filter, opts);
    return relu ? tf.relu(y) : y;
  });
}
