import * as tf from '@tensorflow/tfjs-core';
import { BiasedConv, Initializer } from './conv';
import type { P6Source } from './config';
import type { Parameter } from './params';

/**
 * Feature pyramid (torchvision's FeaturePyramidNetwork + LastLevelP6P7, cvpods' FPN + LastLevelP6P7):
 * lateral 1x1 and output 3x3 convs with bias, top-down nearest upsampling to each lateral's size,
 * P6 = conv3x3 s2 of P5 or C5, P7 = conv3x3 s2 of relu(P6). Parameter names are torchvision's.
 */
export class FeaturePyramid {
  private readonly lateral: BiasedConv[];
  private readonly output: BiasedConv[];
  private readonly p6: BiasedConv;
  private readonly p7: BiasedConv;

  constructor(
    inChannels: number[],
    readonly channels: number,
    readonly p6From: P6Source,
    seed: number,
  ) {
    const init = new Initializer(seed + 100_003);
    this.lateral = inChannels.map((c, i) => new BiasedConv(`inner_blocks.${i}.0`, c, channels, 1, 1, init));
    this.output = inChannels.map((_, i) => new BiasedConv(`layer_blocks.${i}.0`, channels, channels, 3, 1, init));
    const p6In = p6From === 'p5' ? channels : inChannels[inChannels.length - 1];
    this.p6 = new BiasedConv('extra_blocks.p6', p6In, channels, 3, 2, init);
    this.p7 = new BiasedConv('extra_blocks.p7', channels, channels, 3, 2, init);
  }

  /** [C3, C4, C5] -> [P3, P4, P5, P6, P7]. */
  apply(features: tf.Tensor4D[]): tf.Tensor4D[] {
    if (features.length !== this.lateral.length) throw new Error(`FeaturePyramid.apply: expected ${this.lateral.length} feature maps (C3..C5), got ${features.length}`);
    return tf.tidy(() => {
      const top = features.length - 1;
      let merged = this.lateral[top].apply(features[top]);
      const outputs: tf.Tensor4D[] = [this.output[top].apply(merged)];
      for (let i = top - 1; i >= 0; i--) {
        const lateral = this.lateral[i].apply(features[i]);
        const [, h, w] = lateral.shape;
        merged = tf.add(lateral, tf.image.resizeNearestNeighbor(merged, [h, w], false, false));
        outputs.unshift(this.output[i].apply(merged));
      }
      const p6 = this.p6.apply(this.p6From === 'p5' ? outputs[top] : features[top]);
      const p7 = this.p7.apply(tf.relu(p6));
      return [...outputs, p6, p7];
    });
  }

  private convs(): BiasedConv[] {
    return [...this.lateral, ...this.output, this.p6, this.p7];
  }

  parameters(): Parameter[] {
    return this.convs().flatMap((c) => c.parameters());
  }

  trainableVariables(): tf.Variable[] {
    return this.convs().flatMap((c) => [c.filter, c.bias]);
  }

  dispose(): void {
    for (const c of this.convs()) c.dispose();
  }
}
