import * as tf from '@tensorflow/tfjs-core';

/**
 * The binary (0/1 float) mask of positive gate values. With `dilate`, max-pooled 3x3 stride 1 'same':
 * the pixels whose 3x3 neighbourhood holds an active pixel, which is where conv1 of a depth node
 * must be computed so that conv2 sees its whole receptive field (SPEC section 2).
 */
export function gateMask(gate: tf.Tensor4D, opts: { dilate?: boolean } = {}): tf.Tensor4D {
  if (gate.rank !== 4 || gate.shape[3] !== 1) {
    throw new Error(`gateMask: gate must be rank 4 [B,H,W,1], got shape [${gate.shape.join(',')}]`);
  }
  return tf.tidy(() => {
    // step, not cast(greater): on webgpu a bool->float32 cast only relabels the i32 buffer, which
    // some tfjs-webgpu programs (Transpose) then mis-declare
    const mask = tf.step(gate, 0) as tf.Tensor4D;
    return opts.dilate ? tf.maxPool(mask, 3, 1, 'same') : mask;
  });
}
