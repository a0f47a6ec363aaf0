import type * as tf from '@tensorflow/tfjs-core';

/** One image on its way to a batch, with its targets following every transform. */
export interface DetectionSample {
  imageId: number;
  /** [H, W, 3] float32. */
  image: tf.Tensor3D;
  /** [N * 4] corners x1, y1, x2, y2 in this image's pixels. */
  boxes: Float32Array;
  /** [N] 0-based labels. */
  labels: Int32Array;
  /** [height, width] of the stored image. */
  originalSize: [number, number];
  /** [sy, sx]: this image's pixels per stored pixel. */
  scale: [number, number];
  flipped: boolean;
}
