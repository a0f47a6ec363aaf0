// One decoded image -> a transformed sample: resize, flip, normalise (tensors), boxes along.

import * as tf from '@tensorflow/tfjs-core';
import type { CocoDataset } from '../dataset';
import type { RgbImage } from '../image/decoder';
import { hflip } from '../transforms/flip';
import { type PixelLayout, type PixelNormalization, normalizePixels } from '../transforms/normalize';
import { resizeShortestEdge } from '../transforms/resize';
import type { DetectionSample } from '../transforms/sample';

export interface SamplePlan {
  imageId: number;
  shortEdge: number;
  flip: boolean;
}

export interface PrepareOptions {
  maxSize: number;
  pixels: PixelLayout | PixelNormalization;
  includeCrowd: boolean;
}

export function prepareSample(dataset: CocoDataset, decoded: RgbImage, plan: SamplePlan, opts: PrepareOptions): DetectionSample {
  const info = dataset.image(plan.imageId);
  if (decoded.width !== info.width || decoded.height !== info.height)
    throw new Error(`${dataset.imagePath(plan.imageId)}: decoded ${decoded.width}x${decoded.height}, ${dataset.source} declares ${info.width}x${info.height}`);
  const targets = dataset.targets(plan.imageId, { includeCrowd: opts.includeCrowd });
  return tf.tidy(() => {
    const pixels = tf.tensor3d(Float32Array.from(decoded.data), [decoded.height, decoded.width, 3], 'float32');
    let sample: DetectionSample = {
      imageId: plan.imageId,
      image: pixels,
      boxes: targets.boxes,
      labels: targets.labels,
      originalSize: [info.height, info.width],
      scale: [1, 1],
      flipped: false,
    };
    sample = resizeShortestEdge(sample, { shortEdge: plan.shortEdge, maxSize: opts.maxSize });
    if (plan.flip) sample = hflip(sample);
    return { ...sample, image: normalizePixels(sample.image, opts.pixels) };
  });
}
