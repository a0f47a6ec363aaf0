// Horizontal flip, boxes mirrored along.

import * as tf from '@tensorflow/tfjs-core';
import type { DetectionSample } from './sample';

/** Mirrors corner boxes in an image `width` pixels wide: x1' = W - x2, x2' = W - x1. */
export function flipBoxes(boxes: Float32Array, width: number): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = width - boxes[i + 2];
    out[i + 1] = boxes[i + 1];
    out[i + 2] = width - boxes[i];
    out[i + 3] = boxes[i + 3];
  }
  return out;
}

export function hflip(sample: DetectionSample): DetectionSample {
  const width = sample.image.shape[1];
  return {
    ...sample,
    image: tf.reverse(sample.image, 1),
    boxes: flipBoxes(sample.boxes, width),
    flipped: !sample.flipped,
  };
}
