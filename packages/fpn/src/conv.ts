import * as tf from '@tensorflow/tfjs-core';
import type { BackboneNorm } from './config';
import { FrozenBatchNorm, GroupNormLayer } from './norm';
import { convParameter, type Parameter, vectorParameter } from './params';

export type TorchPadding = [[number, number], [number, number], [number, number], [number, number]];

/**
 * PyTorch's symmetric zero padding. tfjs 'same' pads stride-2 convs asymmetrically (more at the
 * bottom/right), which would shift every strided feature map by a pixel against torchvision.
 */
export function torchPadding(pad: number): TorchPadding {
  return [
    [0, 0],
    [pad, pad],
    [pad, pad],
    [0, 0],
  ];
}

/** Seeded initialisers, so that two models built with the same seed are equal. */
export class Initializer {
  private next: number;
  constructor(seed: number) {
    this.next = seed * 7919 + 1;
  }
  /** torchvision ResNet: kaiming normal, fan_out, relu gain. */
  kaimingNormalFanOut(shape: [number, number, number, number]): tf.Tensor4D {
    const [kh, kw, , cout] = shape;
    return tf.randomNormal(shape, 0, Math.sqrt(2 / (cout * kh * kw)), 'float32', this.next++);
  }
  /** torchvision FPN: kaiming uniform with a = 1, i.e. U(-sqrt(3 / fan_in), sqrt(3 / fan_in)). */
  kaimingUniformA1(shape: [number, number, number, number]): tf.Tensor4D {
    const [kh, kw, cin] = shape;
    const bound = Math.sqrt(3 / (cin * kh * kw));
    return tf.randomUniform(shape, -bound, bound, 'float32', this.next++);
  }
}

export interface ConvNormSpec {
  convName: string;
  normName: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  norm: BackboneNorm;
  gnGroups: number;
  bnEps: number;
  trainable: boolean;
}

/** A bias-free conv followed by its norm (frozen BN folded into the filter, or GroupNorm). */
export class ConvNorm {
  readonly filter: tf.Variable<tf.Rank.R4>;
  private readonly frozen?: FrozenBatchNorm;
  private readonly gn?: GroupNormLayer;
  private readonly pad: TorchPadding;

  constructor(
    readonly spec: ConvNormSpec,
    init: Initializer,
  ) {
    const shape: [number, number, number, number] = [spec.kernel, spec.kernel, spec.inChannels, spec.outChannels];
    this.filter = tf.tidy(() => tf.variable(init.kaimingNormalFanOut(shape), spec.trainable)) as tf.Variable<tf.Rank.R4>;
    if (spec.norm === 'frozenbn') this.frozen = new FrozenBatchNorm(spec.outChannels, spec.bnEps);
    else this.gn = new GroupNormLayer(spec.outChannels, spec.gnGroups, spec.trainable);
    this.pad = torchPadding((spec.kernel - 1) / 2);
  }

  /** conv -> norm [-> + residual] [-> relu]. */
  apply(x: tf.Tensor4D, relu: boolean, residual?: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const { stride } = this.spec;
      let y: tf.Tensor4D;
      if (this.frozen) {
        const filter = tf.mul(this.filter, this.frozen.scale) as tf.Tensor4D;
        const activation = relu && !residual ? 'relu' : 'linear';
        y = tf.fused.conv2d({ x, filter, strides: stride, pad: this.pad, bias: this.frozen.shift, activation });
        if (!residual) return y;
      } else {
        y = (this.gn as GroupNormLayer).apply(tf.conv2d(x, this.filter, stride, this.pad));
      }
      if (residual) y = tf.add(y, residual);
      return relu ? tf.relu(y) : y;
    });
  }

  parameters(): Parameter[] {
    const norm = this.frozen ? this.frozen.parameters(this.spec.normName) : (this.gn as GroupNormLayer).parameters(this.spec.normName);
    return [convParameter(this.spec.convName, this.filter), ...norm];
  }

  trainableVariables(): tf.Variable[] {
    if (!this.spec.trainable) return [];
    return this.gn ? [this.filter, this.gn.gamma, this.gn.beta] : [this.filter];
  }

  dispose(): void {
    this.filter.dispose();
    this.frozen?.dispose();
    this.gn?.dispose();
  }
}

/** A conv with bias and no norm (the FPN's), torch padding (k - 1) / 2. */
export class BiasedConv {
  readonly filter: tf.Variable<tf.Rank.R4>;
  readonly bias: tf.Variable<tf.Rank.R1>;
  private readonly pad: TorchPadding;

  constructor(
    readonly name: string,
    inChannels: number,
    outChannels: number,
    readonly kernel: number,
    readonly stride: number,
    init: Initializer,
  ) {
    this.filter = tf.tidy(() => tf.variable(init.kaimingUniformA1([kernel, kernel, inChannels, outChannels]), true)) as tf.Variable<tf.Rank.R4>;
    this.bias = tf.tidy(() => tf.variable(tf.zeros([outChannels]), true)) as tf.Variable<tf.Rank.R1>;
    this.pad = torchPadding((kernel - 1) / 2);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.fused.conv2d({ x, filter: this.filter, strides: this.stride, pad: this.pad, bias: this.bias });
  }

  parameters(): Parameter[] {
    return [convParameter(`${this.name}.weight`, this.filter), vectorParameter(`${this.name}.bias`, this.bias)];
  }

  dispose(): void {
    this.filter.dispose();
    this.bias.dispose();
  }
}
