// Batching with padding to a multiple of the largest stride; true sizes kept.

import * as tf from '@tensorflow/tfjs-core';

export interface PaddedBatch {
  /** [B, Hp, Wp, C], zero-padded at the bottom and right; Hp, Wp multiples of `multiple`. */
  images: tf.Tensor4D;
  /** [height, width] of each image before padding. */
  sizes: [number, number][];
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/**
 * Stacks images of different sizes into one batch padded to the largest height and width rounded up
 * to `multiple` (zero after normalisation is the mean pixel, as detectron2 pads).
 */
export function padToMultiple(images: tf.Tensor3D | tf.Tensor3D[], multiple = 32): PaddedBatch {
  const list = Array.isArray(images) ? images : [images];
  if (list.length === 0) throw new Error('padToMultiple: no images');
  if (!(Number.isInteger(multiple) && multiple > 0)) throw new Error(`padToMultiple: multiple must be a positive integer, got ${multiple}`);
  const channels = list[0].shape[2];
  list.forEach((im, i) => {
    if (im.rank !== 3 || im.shape[2] !== channels) throw new Error(`padToMultiple: image ${i} has shape [${im.shape}], expected [H, W, ${channels}]`);
  });
  const sizes = list.map((im) => [im.shape[0], im.shape[1]] as [number, number]);
  const H = roundUp(Math.max(...sizes.map((s) => s[0])), multiple);
  const W = roundUp(Math.max(...sizes.map((s) => s[1])), multiple);
  const batch = tf.tidy(() =>
    tf.stack(
      list.map((im) =>
        im.shape[0] === H && im.shape[1] === W
          ? im
          : tf.pad(im, [
              [0, H - im.shape[0]],
              [0, W - im.shape[1]],
              [0, 0],
            ]),
      ),
    ),
  ) as tf.Tensor4D;
  return { images: batch, sizes };
}
