import { convLayer, type GroupNormParams } from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';
import type { ParamScope } from './param-scope';

/** A 3x3 conv's parameters, official names `<scope>.weight` (+ `<scope>.bias`). */
export class Conv3x3 {
  readonly weight: tf.Variable<tf.Rank.R4>;
  readonly bias?: tf.Variable<tf.Rank.R1>;

  constructor(scope: ParamScope, inChannels: number, outChannels: number, options: { bias: boolean; biasInit?: number }) {
    this.weight = scope.conv('weight', 3, inChannels, outChannels, { normal: 0.01 });
    if (options.bias) this.bias = scope.vector('bias', outChannels, { constant: options.biasInit ?? 0 });
  }

  /** Dense 'same' conv (+bias). */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const y = tf.conv2d(x, this.weight, 1, 'same');
      return (this.bias ? tf.add(y, this.bias) : y) as tf.Tensor4D;
    });
  }

  /** apply()'s numbers through convLayer, not differentiable: on webgpu the head's own conv programs, not tf.conv2d. */
  infer(x: tf.Tensor4D): tf.Tensor4D {
    return convLayer(x, this.weight, { bias: this.bias });
  }
}

/** A depthwise 3x3 conv with bias: `<scope>.weight` [C,1,3,3], `<scope>.bias`. */
export class DepthwiseConv3x3 {
  readonly weight: tf.Variable<tf.Rank.R4>;
  readonly bias: tf.Variable<tf.Rank.R1>;

  constructor(scope: ParamScope, channels: number) {
    this.weight = scope.depthwise('weight', 3, channels, { normal: 0.01 });
    this.bias = scope.vector('bias', channels, { constant: 0 });
  }
}

/** GroupNorm's affine parameters `<scope>.weight` (1) and `<scope>.bias` (0), eps 1e-5 as torch. */
export class GroupNorm {
  readonly params: GroupNormParams;

  constructor(scope: ParamScope, channels: number, groups: number) {
    this.params = {
      groups,
      gamma: scope.vector('weight', channels, { constant: 1 }),
      beta: scope.vector('bias', channels, { constant: 0 }),
      eps: 1e-5,
    };
  }
}
