import * as tf from '@tensorflow/tfjs-core';
import { groupNormInference } from './group-norm';
import { DEPTHWISE_GROUP_NORM, type MaskedGroupNormAttrs } from './kernels/kernel-names';
import { hasKernel } from './kernels/register';
import { denseConv } from './masked-conv2d';
import type { SparseConvOptions } from './types';
import { checkGate, validateConvArgs } from './validate';

/**
 * The inference form of a dense layer: 'same' conv (regular or depthwise) (+bias) (+GroupNorm,
 * statistics per image) (+ReLU) (times a [B,H,W,1] `gate`: a gated path), with bias, GN, ReLU and
 * gate fused into one kernel on cpu and wasm, and on webgpu a depthwise 3x3 conv with them too.
 * Not differentiable: maskedConv2d is its training form.
 */
export function convLayer(x: tf.Tensor4D, filter: tf.Tensor4D, opts: Omit<SparseConvOptions, 'method' | 'gatedResidual'> = {}, gate?: tf.Tensor4D): tf.Tensor4D {
  validateConvArgs('convLayer', x, null, filter, opts);
  if (gate) checkGate('convLayer', 'gate', gate, x);
  const relu = opts.post === 'relu';
  return tf.tidy(() => {
    const [b, h, w] = x.shape;
    if (opts.norm && opts.depthwise && filter.shape[0] === 3 && filter.shape[1] === 3 && hasKernel(DEPTHWISE_GROUP_NORM)) {
      // webgpu: the conv is computed where GN reads it, in the GN's one or three dispatches
      const attrs: MaskedGroupNormAttrs = { groups: opts.norm.groups, eps: opts.norm.eps ?? 1e-5, relu };
      const inputs: tf.NamedTensorMap = { x, filter, gamma: opts.norm.gamma, beta: opts.norm.beta };
      if (opts.bias) inputs.bias = opts.bias;
      if (gate) inputs.rowScale = gate;
      return tf.engine().runKernel(DEPTHWISE_GROUP_NORM, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
    }
    if (opts.norm) {
      const y = denseConv(x, filter, { ...opts, bias: undefined });
      return groupNormInference(y, new Array<number>(b).fill(h * w), opts.norm, { bias: opts.bias, relu, rowScale: gate });
    }
    const y = denseConv(x, filter, opts);
    const activated = relu ? tf.relu(y) : y;
    return gate ? tf.mul(activated, gate) : activated;
  });
}
