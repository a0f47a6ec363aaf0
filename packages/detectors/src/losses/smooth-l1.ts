import * as tf from '@tensorflow/tfjs-core';

/** Smooth L1 (Huber with beta), elementwise: 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta; beta 0 is L1. */
export function smoothL1(pred: tf.Tensor, target: tf.Tensor, beta: number): tf.Tensor {
  return tf.tidy(() => {
    const d = tf.abs(tf.sub(pred, target));
    if (beta <= 0) return d;
    // min/max form keeps the comparison off the gradient path (tfjs has no gradient for Less).
    const small = tf.minimum(d, beta);
    return tf.add(tf.div(tf.mul(tf.square(small), 0.5), beta), tf.sub(d, small));
  });
}
