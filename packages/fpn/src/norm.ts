import { groupNormDense } from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';
import { hostParameter, type Parameter, vectorParameter } from './params';

/**
 * Frozen batch norm: y = x * scale + shift with scale = weight / sqrt(running_var + eps) and
 * shift = bias - running_mean * scale, folded in float64 whenever a statistic changes.
 */
export class FrozenBatchNorm {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly runningMean: Float32Array;
  readonly runningVar: Float32Array;
  scale!: tf.Tensor1D;
  shift!: tf.Tensor1D;

  constructor(
    readonly channels: number,
    readonly eps: number,
  ) {
    this.weight = new Float32Array(channels).fill(1);
    this.bias = new Float32Array(channels);
    this.runningMean = new Float32Array(channels);
    this.runningVar = new Float32Array(channels).fill(1);
    this.fold();
  }

  private fold(): void {
    const scale = new Float32Array(this.channels);
    const shift = new Float32Array(this.channels);
    for (let c = 0; c < this.channels; c++) {
      const s = this.weight[c] / Math.sqrt(this.runningVar[c] + this.eps);
      scale[c] = s;
      shift[c] = this.bias[c] - this.runningMean[c] * s;
    }
    this.scale?.dispose();
    this.shift?.dispose();
    // Kept: a load may happen inside someone's tf.tidy.
    this.scale = tf.keep(tf.tensor1d(scale));
    this.shift = tf.keep(tf.tensor1d(shift));
  }

  parameters(prefix: string): Parameter[] {
    const refold = () => this.fold();
    // Detectron's MSRA checkpoints carry only the scale and shift (as weight and bias): detectron2
    // and cvpods then use mean 0, var 1 with eps still added; the fallbacks reproduce that.
    return [
      hostParameter(`${prefix}.weight`, this.weight, refold),
      hostParameter(`${prefix}.bias`, this.bias, refold),
      hostParameter(`${prefix}.running_mean`, this.runningMean, refold, 0),
      hostParameter(`${prefix}.running_var`, this.runningVar, refold, 1),
    ];
  }

  dispose(): void {
    this.scale.dispose();
    this.shift.dispose();
  }
}

/** Largest divisor of `channels` not above `groups`, so any width can use GroupNorm. */
export function groupsFor(channels: number, groups: number): number {
  for (let g = Math.min(groups, channels); g > 1; g--) if (channels % g === 0) return g;
  return 1;
}

/**
 * GroupNorm over NHWC: statistics per image and group over H, W and the group's channels. It is
 * @dynhead/sparse-conv's training GroupNorm, whose gradient is written out: the backbone's norms
 * are a fifth of a training step's (20 of 100 in examples/train-bccd's model), and autograd would
 * run about 90 kernels for each.
 */
export function groupNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, eps = 1e-5): tf.Tensor4D {
  return groupNormDense(x, { gamma, beta, groups, eps });
}

/** Trainable GroupNorm (scale 1, shift 0 at init), named like torch's `bn1` it replaces. */
export class GroupNormLayer {
  readonly gamma: tf.Variable<tf.Rank.R1>;
  readonly beta: tf.Variable<tf.Rank.R1>;
  readonly groups: number;

  constructor(channels: number, groups: number, trainable: boolean) {
    this.groups = groupsFor(channels, groups);
    this.gamma = tf.tidy(() => tf.variable(tf.ones([channels]), trainable)) as tf.Variable<tf.Rank.R1>;
    this.beta = tf.tidy(() => tf.variable(tf.zeros([channels]), trainable)) as tf.Variable<tf.Rank.R1>;
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return groupNorm(x, this.gamma, this.beta, this.groups);
  }

  parameters(prefix: string): Parameter[] {
    return [vectorParameter(`${prefix}.weight`, this.gamma), vectorParameter(`${prefix}.bias`, this.beta)];
  }

  dispose(): void {
    this.gamma.dispose();
    this.beta.dispose();
  }
}
