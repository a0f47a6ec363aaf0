import * as tf from '@tensorflow/tfjs-core';

export interface FocalLossOptions {
  alpha: number;
  gamma: number;
}

export const focalDefaults: FocalLossOptions = { alpha: 0.25, gamma: 2 };

/**
 * Binary cross-entropy with logits, elementwise, in the overflow-safe form
 * max(x, 0) - x * t + log(1 + exp(-|x|)).
 */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))),
  );
}

/**
 * Sigmoid focal loss (Lin et al. 2017), elementwise and unreduced:
 * alpha_t * (1 - p_t)^gamma * BCE(x, t). Targets are 0/1 (soft targets allowed).
 */
export function sigmoidFocalLoss(logits: tf.Tensor, targets: tf.Tensor, options: Partial<FocalLossOptions> = {}): tf.Tensor {
  const { alpha, gamma } = { ...focalDefaults, ...options };
  return tf.tidy(() => {
    const p = tf.sigmoid(logits);
    const ce = bceWithLogits(logits, targets);
    const oneMinusT = tf.sub(1, targets);
    const pT = tf.add(tf.mul(p, targets), tf.mul(tf.sub(1, p), oneMinusT));
    const modulator = gamma === 0 ? tf.onesLike(pT) : tf.pow(tf.sub(1, pT), gamma);
    let loss = tf.mul(ce, modulator);
    if (alpha >= 0) loss = tf.mul(loss, tf.add(tf.mul(targets, alpha), tf.mul(oneMinusT, 1 - alpha)));
    return loss;
  });
}
