import * as tf from '@tensorflow/tfjs-core';
import { groupNormDense } from './group-norm';
import type { SparseConvOptions } from './types';
import { validateConvArgs } from './validate';

/** Dense 'same' conv (regular or depthwise) plus bias: the part every form shares. */
export function denseConv(x: tf.Tensor4D, filter: tf.Tensor4D, opts: SparseConvOptions): tf.Tensor4D {
  const y = opts.depthwise ? tf.depthwiseConv2d(x, filter, 1, 'same') : tf.conv2d(x, filter, 1, 'same');
  return opts.bias ? tf.add(y, opts.bias) : y;
}

/**
 * The training form: dense conv (+bias) (+GroupNorm over the WHOLE map) (+ReLU), then times mask.
 * Differentiable through x, filter, bias, norm parameters and mask.
 */
export function maskedConv2d(x: tf.Tensor4D, mask: tf.Tensor4D, filter: tf.Tensor4D, opts: SparseConvOptions = {}): tf.Tensor4D {
  validateConvArgs('maskedConv2d', x, mask, filter, opts);
  return tf.tidy(() => {
    let y = denseConv(x, filter, opts);
    if (opts.norm) y = groupNormDense(y, opts.norm);
    if (opts.post === 'relu') y = tf.relu(y);
    return tf.mul(y, mask);
  });
}
