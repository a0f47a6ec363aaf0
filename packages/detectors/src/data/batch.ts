import * as tf from '@tensorflow/tfjs-core';
import type { ImageTargets } from '../fcos/targets';

/** Decoded RGB pixels, row-major [height, width, 3]. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** One annotated image: boxes are corners in original pixels, labels contiguous. */
export interface DetectionSample {
  imageId: number;
  file: string;
  width: number;
  height: number;
  boxes: Float32Array;
  labels: Int32Array;
}

export interface InputOptions {
  /** Resize so the shorter side is this... */
  shortestEdge: number;
  /** ...unless the longer side would exceed this. */
  maxSize: number;
  /** Pad the batch to a multiple of this (the coarsest stride). */
  sizeDivisibility: number;
}

/** Where each image of a batch sits in the padded input. */
export interface ImageInfo {
  imageId: number;
  /** Size after resize (before padding). */
  height: number;
  width: number;
  originalHeight: number;
  originalWidth: number;
  scaleX: number;
  scaleY: number;
}

export interface DetectionBatch {
  /** [B, H, W, 3] float32 RGB in 0..255, zero-padded at the bottom and right. */
  images: tf.Tensor4D;
  infos: ImageInfo[];
  /** Ground truth in resized coordinates. */
  targets: ImageTargets[];
}

/** Detectron's ResizeShortestEdge: the output size for an image. */
export function resizedSize(height: number, width: number, o: InputOptions): { height: number; width: number } {
  let scale = o.shortestEdge / Math.min(height, width);
  if (Math.max(height, width) * scale > o.maxSize) scale = o.maxSize / Math.max(height, width);
  return { height: Math.round(height * scale), width: Math.round(width * scale) };
}

/** Resizes (bilinear, half-pixel centres) and keeps uint8 values, for caching. */
export async function resizeImage(img: RgbImage, height: number, width: number): Promise<RgbImage> {
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(`resizeImage: ${img.data.length} bytes for ${img.width}x${img.height} RGB (want ${img.width * img.height * 3})`);
  }
  const out = tf.tidy(() => {
    const t = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    const r = tf.image.resizeBilinear(tf.cast(t, 'float32') as tf.Tensor3D, [height, width], false, true);
    return tf.cast(tf.clipByValue(tf.round(r), 0, 255), 'int32');
  });
  const data = Uint8Array.from(await out.data());
  out.dispose();
  return { data, width, height };
}

/** Builds a padded batch from resized images, flipping those asked for, boxes moved along. */
export function assembleBatch(
  items: { image: RgbImage; sample: DetectionSample; flip: boolean }[],
  sizeDivisibility: number,
): DetectionBatch {
  const div = Math.max(1, sizeDivisibility);
  const H = Math.ceil(Math.max(...items.map((it) => it.image.height)) / div) * div;
  const W = Math.ceil(Math.max(...items.map((it) => it.image.width)) / div) * div;
  const pixels = new Float32Array(items.length * H * W * 3);
  const infos: ImageInfo[] = [];
  const targets: ImageTargets[] = [];
  items.forEach(({ image, sample, flip }, b) => {
    const { width: w, height: h, data } = image;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = (y * w + (flip ? w - 1 - x : x)) * 3;
        const dst = ((b * H + y) * W + x) * 3;
        pixels[dst] = data[src];
        pixels[dst + 1] = data[src + 1];
        pixels[dst + 2] = data[src + 2];
      }
    }
    const sx = w / sample.width;
    const sy = h / sample.height;
    const boxes = new Float32Array(sample.boxes.length);
    for (let g = 0; g < sample.labels.length; g++) {
      const x1 = sample.boxes[4 * g] * sx;
      const x2 = sample.boxes[4 * g + 2] * sx;
      boxes[4 * g] = flip ? w - x2 : x1;
      boxes[4 * g + 1] = sample.boxes[4 * g + 1] * sy;
      boxes[4 * g + 2] = flip ? w - x1 : x2;
      boxes[4 * g + 3] = sample.boxes[4 * g + 3] * sy;
    }
    targets.push({ boxes, labels: sample.labels });
    infos.push({ imageId: sample.imageId, height: h, width: w, originalHeight: sample.height, originalWidth: sample.width, scaleX: sx, scaleY: sy });
  });
  return { images: tf.tensor4d(pixels, [items.length, H, W, 3]), infos, targets };
}
