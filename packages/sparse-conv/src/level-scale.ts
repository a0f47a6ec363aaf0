import * as tf from '@tensorflow/tfjs-core';
import { LEVEL_SCALE, numberedInputs } from './kernels/kernel-names';
import type { LevelScalePost } from './kernels/level-scale-program';
import { hasKernel } from './kernels/register';
import { checkPacked, type PyramidLayout, packPyramid, unpackPyramid } from './pyramid';

export type { LevelScalePost } from './kernels/level-scale-program';

/**
 * Every level l of a packed pyramid x [P, C] (pyramid.ts) times its one-value `scales[l]`, then
 * `post`: ReLU and the level's factor (FCOS's box outputs, `ReLU(scale_l * v) * stride_l`), or
 * exp. One dispatch on webgpu for all levels (three ops a level before); elsewhere these ops level
 * by level. Inference only.
 */
export function scaleLevelsPyramid(x: tf.Tensor2D, layout: PyramidLayout, scales: tf.Tensor[], post: LevelScalePost): tf.Tensor2D {
  const op = 'scaleLevelsPyramid';
  checkPacked(op, 'x', x, layout);
  const levels = layout.sizes.length;
  if (scales.length !== levels || scales.some((s) => s.size !== 1)) {
    throw new Error(`${op}: one one-value scale per level (${levels}), got shapes ${scales.map((s) => `[${s.shape.join(',')}]`).join(', ')}`);
  }
  if ('factors' in post && post.factors.length !== levels) throw new Error(`${op}: one factor per level (${levels}), got ${post.factors.length}`);
  // webgpu binds x, the scales and the output: 8 storage buffers at most
  if (tf.getBackend() === 'webgpu' && levels <= 6 && hasKernel(LEVEL_SCALE)) {
    const inputs: tf.NamedTensorMap = { x, ...numberedInputs('scale', scales) };
    return tf.engine().runKernel(LEVEL_SCALE, inputs, { pyramid: layout, post } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
  }
  return tf.tidy(() =>
    packPyramid(
      unpackPyramid(x, layout).map((level, l) => {
        const scaled = tf.mul(level, scales[l]);
        return ('factors' in post ? tf.mul(tf.relu(scaled), post.factors[l]) : tf.exp(scaled)) as tf.Tensor4D;
      }),
    ),
  );
}
