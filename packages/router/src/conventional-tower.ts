import { convCost, convLayer, maskedConv2d, type SparseConvOptions } from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';
import type { ForwardContext } from './forward-context';
import { Conv3x3, GroupNorm } from './layers';
import type { ParamScope } from './param-scope';

/**
 * The conventional FCOS / RetinaNet tower: n x (conv 3x3 with bias, GN, ReLU), each level alone,
 * weights shared across levels. Official names as an nn.Sequential: `<tower>.{3i}.{weight,bias}`
 * (conv), `<tower>.{3i+1}.{weight,bias}` (GN); index 3i+2 is the parameter-free ReLU.
 */
export class ConventionalTower {
  private readonly layers: { conv: Conv3x3; norm: GroupNorm }[] = [];
  readonly unit: number;

  constructor(scope: ParamScope, channels: number, convs: number, gnGroups: number) {
    for (let i = 0; i < convs; i++) {
      this.layers.push({
        conv: new Conv3x3(scope.child(3 * i), channels, channels, { bias: true }),
        norm: new GroupNorm(scope.child(3 * i + 1), channels, gnGroups),
      });
    }
    this.unit = convCost({ kind: 'conv', inChannels: channels, outChannels: channels, kernel: 3 });
  }

  /** Training form: maskedConv2d with an all-ones mask (differentiable). */
  apply(xs: tf.Tensor4D[], ctx: ForwardContext): tf.Tensor4D[] {
    return this.run(xs, ctx, (y, opts, weight) => maskedConv2d(y, tf.onesLike(tf.slice(y, [0, 0, 0, 0], [-1, -1, -1, 1])) as tf.Tensor4D, weight, opts));
  }

  /** Inference: the same numbers through the fused inference layer (no mask, GN fused on cpu and wasm). */
  infer(xs: tf.Tensor4D[], ctx: ForwardContext): tf.Tensor4D[] {
    return this.run(xs, ctx, (y, opts, weight) => convLayer(y, weight, opts));
  }

  /** Each level through every conv + GN + ReLU layer, each charged in full. */
  private run(xs: tf.Tensor4D[], ctx: ForwardContext, layer: (y: tf.Tensor4D, opts: SparseConvOptions, weight: tf.Tensor4D) => tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() =>
      xs.map((x) => {
        let y = x;
        for (const { conv, norm } of this.layers) {
          ctx.chargeDense(y, this.unit);
          y = layer(y, { bias: conv.bias, norm: norm.params, post: 'relu' }, conv.weight);
        }
        return y;
      }),
    );
  }
}
