import { convLayerPyramid, type PyramidLayout, scaleLevelsPyramid, unpackPyramid } from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';
import type { HeadConfig } from './config';
import { Conv3x3 } from './layers';
import type { ParamScope } from './param-scope';

export interface LevelPredictions {
  logits: tf.Tensor4D;
  bboxReg: tf.Tensor4D;
  centerness: tf.Tensor4D;
}

/**
 * FCOS's predictors on the tower outputs: `cls_score` (num_classes), `bbox_pred` (4) and
 * `centerness` (1), 3x3 convs with bias shared across levels, and a learnable `scales.<l>.scale`
 * per level for the boxes.
 */
export class Predictors {
  private readonly clsScore: Conv3x3;
  private readonly bboxPred: Conv3x3;
  private readonly centerness: Conv3x3;
  private readonly scales: tf.Variable<tf.Rank.R1>[];

  constructor(
    scope: ParamScope,
    private readonly config: HeadConfig,
  ) {
    const c = config.channels;
    const priorBias = -Math.log((1 - config.priorProb) / config.priorProb);
    this.clsScore = new Conv3x3(scope.child('cls_score'), c, config.numClasses, { bias: true, biasInit: priorBias });
    this.bboxPred = new Conv3x3(scope.child('bbox_pred'), c, 4, { bias: true });
    this.centerness = new Conv3x3(scope.child('centerness'), c, 1, { bias: true });
    this.scales = config.strides.map((_, l) => scope.child('scales').child(l).vector('scale', 1, { constant: 1 }));
  }

  apply(cls: tf.Tensor4D, bbox: tf.Tensor4D, level: number): LevelPredictions {
    return this.predict(cls, bbox, level, (conv, x) => conv.apply(x));
  }

  /**
   * apply()'s numbers for inference, not differentiable: on webgpu the convs are the towers' GEMM,
   * the four-output program (bbox_pred) and the one-output gate conv program instead of tf.conv2d
   * (400x672, SwiftShader: P3's cls_score 4058 -> 1294 ms, bbox_pred 1259 -> 217 ms with the GEMM,
   * ~25 ms with its own program).
   */
  infer(cls: tf.Tensor4D, bbox: tf.Tensor4D, level: number): LevelPredictions {
    return this.predict(cls, bbox, level, (conv, x) => conv.infer(x));
  }

  /**
   * infer() of every level at once from the towers' packed outputs [P, C] (pyramid.ts): on webgpu
   * each predictor one dispatch for all levels and the boxes' scales one more, then the outputs
   * unpacked per level (19 dispatches where the towers' unpacking and per-level predictors took 40).
   */
  inferPacked(cls: tf.Tensor2D, bbox: tf.Tensor2D, layout: PyramidLayout): { logits: tf.Tensor4D[]; bboxReg: tf.Tensor4D[]; centerness: tf.Tensor4D[] } {
    return tf.tidy(() => {
      const conv = (c: Conv3x3, x: tf.Tensor2D) => convLayerPyramid(x, layout, c.weight, { bias: c.bias });
      const raw = conv(this.bboxPred, bbox);
      const post = this.config.normRegTargets ? { relu: true as const, factors: this.config.strides } : { exp: true as const };
      const bboxReg = scaleLevelsPyramid(raw, layout, this.scales, post);
      return {
        logits: unpackPyramid(conv(this.clsScore, cls), layout),
        bboxReg: unpackPyramid(bboxReg, layout),
        centerness: unpackPyramid(conv(this.centerness, this.config.centernessOnReg ? bbox : cls), layout),
      };
    });
  }

  private predict(cls: tf.Tensor4D, bbox: tf.Tensor4D, level: number, run: (conv: Conv3x3, x: tf.Tensor4D) => tf.Tensor4D): LevelPredictions {
    return tf.tidy(() => {
      const scaled = tf.mul(run(this.bboxPred, bbox), this.scales[level]);
      const bboxReg = this.config.normRegTargets
        ? tf.mul(tf.relu(scaled), this.config.strides[level])
        : tf.exp(scaled);
      return {
        logits: run(this.clsScore, cls),
        bboxReg: bboxReg as tf.Tensor4D,
        centerness: run(this.centerness, this.config.centernessOnReg ? bbox : cls),
      };
    });
  }
}
