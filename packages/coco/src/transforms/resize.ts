// Shortest-edge resizing (detectron2 / cvpods ResizeShortestEdge), boxes scaled along.

import * as tf from '@tensorflow/tfjs-core';
import type { DetectionSample } from './sample';

/** [newHeight, newWidth]: shortest edge to `shortEdge` unless the longest would exceed `maxSize`; rounded half up. */
export function shortestEdgeSize(height: number, width: number, shortEdge: number, maxSize: number): [number, number] {
  if (!(height > 0 && width > 0)) throw new Error(`shortestEdgeSize: image size must be positive, got ${height}x${width}`);
  if (!(shortEdge > 0)) throw new Error(`shortestEdgeSize: shortEdge must be > 0, got ${shortEdge}`);
  const scale = shortEdge / Math.min(height, width);
  let h = height < width ? shortEdge : scale * height;
  let w = height < width ? scale * width : shortEdge;
  if (Math.max(h, w) > maxSize) {
    const s = maxSize / Math.max(h, w);
    h *= s;
    w *= s;
  }
  return [Math.floor(h + 0.5), Math.floor(w + 0.5)];
}

/** Scales corner boxes by (sx, sy). */
export function scaleBoxes(boxes: Float32Array, sx: number, sy: number): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = boxes[i] * sx;
    out[i + 1] = boxes[i + 1] * sy;
    out[i + 2] = boxes[i + 2] * sx;
    out[i + 3] = boxes[i + 3] * sy;
  }
  return out;
}

/** Resizes the image (bilinear, half-pixel centres) so its shortest edge is `shortEdge` (capped by `maxSize`). */
export function resizeShortestEdge(sample: DetectionSample, opts: { shortEdge: number; maxSize: number }): DetectionSample {
  const [h, w] = sample.image.shape;
  const [nh, nw] = shortestEdgeSize(h, w, opts.shortEdge, opts.maxSize);
  const image = nh === h && nw === w ? tf.clone(sample.image) : tf.image.resizeBilinear(sample.image, [nh, nw], false, true);
  const sx = nw / w;
  const sy = nh / h;
  return {
    ...sample,
    image,
    boxes: scaleBoxes(sample.boxes, sx, sy),
    scale: [sample.scale[0] * sy, sample.scale[1] * sx],
  };
}
