import * as tf from '@tensorflow/tfjs-core';

/**
 * Synthetic P3..P7 features with spatial structure: smooth random fields (noise at a quarter of each
 * level's size, resized up bilinearly) plus a little white noise. Real FPN features are spatially
 * coherent, so gates computed from them switch on in blobs rather than scattered pixels; i.i.d. noise
 * would make the dilated masks of the sparse path nearly dense and misrepresent its speed.
 */
export function syntheticFeatures(shapes: [number, number][], batch: number, channels: number, seed: number): tf.Tensor4D[] {
  return shapes.map(([h, w], l) =>
    tf.tidy(() => {
      const coarse = tf.randomNormal<tf.Rank.R4>([batch, Math.max(1, Math.ceil(h / 4)), Math.max(1, Math.ceil(w / 4)), channels], 0, 1, 'float32', seed + 101 * l);
      const smooth = tf.image.resizeBilinear(coarse, [h, w], true);
      const white = tf.randomNormal<tf.Rank.R4>([batch, h, w, channels], 0, 0.1, 'float32', seed + 101 * l + 7);
      return tf.add(smooth, white);
    }),
  );
}
