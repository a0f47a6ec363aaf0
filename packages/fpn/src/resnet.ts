import * as tf from '@tensorflow/tfjs-core';
import { type BackboneConfig, resnetPlan, type ResNetPlan } from './config';
import { ConvNorm, type ConvNormSpec, Initializer } from './conv';
import type { Parameter } from './params';

/**
 * A residual block. torchvision and MSRA differ only in where a bottleneck strides: torchvision in
 * the 3x3 conv (ResNet v1.5), MSRA in the first 1x1 conv. Basic blocks stride in their first 3x3.
 */
class ResidualBlock {
  readonly convs: ConvNorm[];
  readonly shortcut?: ConvNorm;

  constructor(prefix: string, inChannels: number, width: number, outChannels: number, stride: number, bottleneck: boolean, strideInFirst: boolean, base: Omit<ConvNormSpec, 'convName' | 'normName' | 'inChannels' | 'outChannels' | 'kernel' | 'stride'>, init: Initializer) {
    const unit = (i: number, cin: number, cout: number, kernel: number, s: number) =>
      new ConvNorm({ ...base, convName: `${prefix}.conv${i}.weight`, normName: `${prefix}.bn${i}`, inChannels: cin, outChannels: cout, kernel, stride: s }, init);
    this.convs = bottleneck
      ? [unit(1, inChannels, width, 1, strideInFirst ? stride : 1), unit(2, width, width, 3, strideInFirst ? 1 : stride), unit(3, width, outChannels, 1, 1)]
      : [unit(1, inChannels, width, 3, stride), unit(2, width, outChannels, 3, 1)];
    if (stride !== 1 || inChannels !== outChannels) {
      this.shortcut = new ConvNorm({ ...base, convName: `${prefix}.downsample.0.weight`, normName: `${prefix}.downsample.1`, inChannels, outChannels, kernel: 1, stride }, init);
    }
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const identity = this.shortcut ? this.shortcut.apply(x, false) : x;
      let y = x;
      const last = this.convs.length - 1;
      this.convs.forEach((conv, i) => {
        y = i === last ? conv.apply(y, true, identity) : conv.apply(y, true);
      });
      return y;
    });
  }

  units(): ConvNorm[] {
    return this.shortcut ? [...this.convs, this.shortcut] : this.convs;
  }
}

/** ResNet-18/34/50/101 body: stem (conv 7x7 s2, norm, relu, maxpool 3x3 s2) and four stages; outputs C3, C4, C5. */
export class ResNet {
  readonly plan: ResNetPlan;
  private readonly stem: ConvNorm;
  private readonly stages: ResidualBlock[][];

  constructor(readonly config: BackboneConfig) {
    this.plan = resnetPlan(config);
    const init = new Initializer(config.seed);
    const base = (trainable: boolean) => ({ norm: config.norm, gnGroups: config.gnGroups, bnEps: config.bnEps, trainable });
    this.stem = new ConvNorm({ ...base(config.freezeAt < 1), convName: 'conv1.weight', normName: 'bn1', inChannels: 3, outChannels: this.plan.stemChannels, kernel: 7, stride: 2 }, init);
    let channels = this.plan.stemChannels;
    this.stages = this.plan.stages.map((stage, s) => {
      // Stage s (layer1 = res2) is frozen when freezeAt >= s + 2.
      const trainable = config.freezeAt < s + 2;
      return Array.from({ length: stage.blocks }, (_, b) => {
        const block = new ResidualBlock(`${stage.name}.${b}`, channels, stage.width, stage.outChannels, b === 0 ? stage.stride : 1, this.plan.bottleneck, config.layout === 'msra', base(trainable), init);
        channels = stage.outChannels;
        return block;
      });
    });
  }

  /** Channels of C3, C4, C5. */
  get outChannels(): number[] {
    return this.plan.stages.slice(1).map((s) => s.outChannels);
  }

  /** [C3, C4, C5] (strides 8, 16, 32) of NHWC images already normalised for this layout. */
  apply(images: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => {
      // Zero padding equals torch's -inf padding here: the stem's output is post-ReLU (>= 0) and
      // every 3x3 window holds at least one real pixel.
      let x = tf.maxPool(this.stem.apply(images, true), 3, 2, 1);
      const outputs: tf.Tensor4D[] = [];
      this.stages.forEach((blocks, s) => {
        for (const block of blocks) x = block.apply(x);
        if (s >= 1) outputs.push(x);
      });
      return outputs;
    });
  }

  private units(): ConvNorm[] {
    return [this.stem, ...this.stages.flat().flatMap((b) => b.units())];
  }

  parameters(): Parameter[] {
    return this.units().flatMap((u) => u.parameters());
  }

  trainableVariables(): tf.Variable[] {
    return this.units().flatMap((u) => u.trainableVariables());
  }

  dispose(): void {
    for (const u of this.units()) u.dispose();
  }
}
