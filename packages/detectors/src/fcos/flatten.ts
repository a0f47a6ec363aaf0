import * as tf from '@tensorflow/tfjs-core';

/** Per-level NHWC maps [B, H, W, K] -> one [B, sum(H*W), K] tensor, level by level, row-major. */
export function flattenLevels(maps: tf.Tensor4D[]): tf.Tensor3D {
  return tf.tidy(() => {
    const flat = maps.map((m) => tf.reshape(m, [m.shape[0], m.shape[1] * m.shape[2], m.shape[3]]) as tf.Tensor3D);
    return flat.length === 1 ? flat[0] : tf.concat(flat, 1);
  });
}
