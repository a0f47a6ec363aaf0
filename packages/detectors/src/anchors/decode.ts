import * as tf from '@tensorflow/tfjs-core';
import { SCALE_CLAMP } from './anchors';

/**
 * Router heads emit exp(scale * pred) when normRegTargets is off; its log is the linear regression
 * output anchor detectors need (signed deltas), within [-30, 30].
 */
export function linearDeltas(bboxReg: tf.Tensor): tf.Tensor {
  // Clipped to e^+-30 so an overflowed exp never reaches log (Inf / Inf gradients would be NaN).
  return tf.tidy(() => tf.log(tf.clipByValue(bboxReg, 1e-13, 1e13)));
}

/** Decodes deltas [N, 4] against anchors [N, 4] (corners) to corner boxes, dw/dh clamped (differentiable). */
export function decodeBoxes(deltas: tf.Tensor2D, anchors: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = tf.unstack(anchors, 1);
    const aw = tf.sub(x2, x1);
    const ah = tf.sub(y2, y1);
    const ax = tf.add(x1, tf.mul(aw, 0.5));
    const ay = tf.add(y1, tf.mul(ah, 0.5));
    const [dx, dy, dw, dh] = tf.unstack(deltas, 1);
    const cx = tf.add(tf.mul(dx, aw), ax);
    const cy = tf.add(tf.mul(dy, ah), ay);
    const w = tf.mul(tf.exp(tf.minimum(dw, SCALE_CLAMP)), aw);
    const h = tf.mul(tf.exp(tf.minimum(dh, SCALE_CLAMP)), ah);
    return tf.stack([tf.sub(cx, tf.mul(w, 0.5)), tf.sub(cy, tf.mul(h, 0.5)), tf.add(cx, tf.mul(w, 0.5)), tf.add(cy, tf.mul(h, 0.5))], 1) as tf.Tensor2D;
  });
}
