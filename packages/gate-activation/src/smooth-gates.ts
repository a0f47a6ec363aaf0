import * as tf from '@tensorflow/tfjs-core';

/** Sigmoid gate: the smooth baseline. Never exactly zero, so it saves no computation. */
export function sigmoidGate<T extends tf.Tensor>(x: T): T {
  return tf.sigmoid(x);
}

/**
 * Softmax over paths (paper Table 2 ablation): the paths of one router compete for each pixel.
 * `logits` stacks one gate logit per path along `axis`.
 */
export function softmaxGate<T extends tf.Tensor>(logits: T, axis = -1): T {
  const rank = logits.rank;
  const ax = axis < 0 ? rank + axis : axis;
  if (ax < 0 || ax >= rank) throw new Error(`softmaxGate: axis ${axis} out of range for a rank-${rank} tensor`);
  if (ax === rank - 1) return tf.softmax(logits);
  const perm = [...Array(rank).keys()];
  perm[ax] = rank - 1;
  perm[rank - 1] = ax;
  return tf.tidy(() => tf.transpose(tf.softmax(tf.transpose(logits, perm)), perm)) as T;
}
