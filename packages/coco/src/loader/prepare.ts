// Decoded images -> one padded, normalised batch with targets that followed resize and flip.

import * as tf from '@tensorflow/tfjs-core';
import type { CocoDataset } from '../dataset';
import type { RgbImage } from '../image/decoder';
import { flipBoxes } from '../transforms/flip';
import { writeImage } from '../transforms/fused';
import { type PixelLayout, type PixelNormalization, resolvePixels } from '../transforms/normalize';
import type { PixelWorkers } from './pixel-workers';
import { scaleBoxes, shortestEdgeSize } from '../transforms/resize';

export interface SamplePlan {
  imageId: number;
  shortEdge: number;
  flip: boolean;
}

export interface PrepareOptions {
  maxSize: number;
  pixels: PixelLayout | PixelNormalization;
  includeCrowd: boolean;
  /** Batch height and width are rounded up to a multiple of this. */
  sizeDivisibility: number;
}

export interface DetectionBatch {
  /** [B, Hp, Wp, 3] normalised, zero-padded at the bottom and right. */
  images: tf.Tensor4D;
  imageIds: number[];
  /** [height, width] of each image after resizing, before padding. */
  imageSizes: [number, number][];
  originalSizes: [number, number][];
  /** [sy, sx] per image: resized pixels per stored pixel (divide boxes by it to go back). */
  scales: [number, number][];
  flipped: boolean[];
  /** Per image: [N * 4] corner boxes in resized (and flipped) pixels. */
  boxes: Float32Array[];
  labels: Int32Array[];
  dispose(): void;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

interface BatchLayout {
  sizes: [number, number][];
  height: number;
  width: number;
  boxes: Float32Array[];
  labels: Int32Array[];
  scales: [number, number][];
}

/** Sizes, padded shape and targets of a batch (everything but the pixels), from the declared image sizes. */
function layoutBatch(dataset: CocoDataset, plans: SamplePlan[], opts: PrepareOptions): BatchLayout {
  if (plans.length === 0) throw new Error('assembleBatch: no images');
  const boxes: Float32Array[] = [];
  const labels: Int32Array[] = [];
  const scales: [number, number][] = [];
  const sizes = plans.map((p) => {
    const { width, height } = dataset.image(p.imageId);
    const [h, w] = shortestEdgeSize(height, width, p.shortEdge, opts.maxSize);
    const t = dataset.targets(p.imageId, { includeCrowd: opts.includeCrowd });
    const scaled = scaleBoxes(t.boxes, w / width, h / height);
    boxes.push(p.flip ? flipBoxes(scaled, w) : scaled);
    labels.push(t.labels);
    scales.push([h / height, w / width]);
    return [h, w] as [number, number];
  });
  return {
    sizes,
    height: roundUp(Math.max(...sizes.map((s) => s[0])), opts.sizeDivisibility),
    width: roundUp(Math.max(...sizes.map((s) => s[1])), opts.sizeDivisibility),
    boxes,
    labels,
    scales,
  };
}

function checkDecoded(dataset: CocoDataset, decoded: RgbImage[], plans: SamplePlan[]): void {
  if (decoded.length !== plans.length) throw new Error(`assembleBatch: ${decoded.length} images for ${plans.length} plans`);
  plans.forEach((p, i) => {
    const info = dataset.image(p.imageId);
    const im = decoded[i];
    if (im.width !== info.width || im.height !== info.height)
      throw new Error(`${dataset.imagePath(p.imageId)}: decoded ${im.width}x${im.height}, ${dataset.source} declares ${info.width}x${info.height}`);
  });
}

const originalSizes = (dataset: CocoDataset, plans: SamplePlan[]) =>
  plans.map((p) => {
    const im = dataset.image(p.imageId);
    return [im.height, im.width] as [number, number];
  });

function toBatch(l: BatchLayout, pixels: Float32Array, plans: SamplePlan[], originalSizes: [number, number][]): DetectionBatch {
  const images = tf.tensor4d(pixels, [plans.length, l.height, l.width, 3]);
  return {
    images,
    imageIds: plans.map((p) => p.imageId),
    imageSizes: l.sizes,
    originalSizes,
    scales: l.scales,
    flipped: plans.map((p) => p.flip),
    boxes: l.boxes,
    labels: l.labels,
    dispose: () => images.dispose(),
  };
}

/** Resizes, flips and normalises decoded images into one padded batch, on the calling thread. */
export function assembleBatch(dataset: CocoDataset, decoded: RgbImage[], plans: SamplePlan[], opts: PrepareOptions): DetectionBatch {
  checkDecoded(dataset, decoded, plans);
  const l = layoutBatch(dataset, plans, opts);
  const pixels = new Float32Array(plans.length * l.height * l.width * 3);
  for (const [i, p] of plans.entries())
    writeImage(decoded[i], { size: l.sizes[i], flip: p.flip, pixels: opts.pixels }, pixels, i * l.height * l.width * 3, l.width * 3);
  return toBatch(l, pixels, plans, originalSizes(dataset, plans));
}

/**
 * assembleBatch in worker threads: they read and decode the files themselves when `decoded` is
 * omitted (and they can load sharp), else they take the decoded buffers (handed over, not copied).
 */
export async function assembleBatchInWorkers(
  dataset: CocoDataset,
  decoded: RgbImage[] | null,
  plans: SamplePlan[],
  opts: PrepareOptions,
  workers: PixelWorkers,
): Promise<DetectionBatch> {
  if (decoded) checkDecoded(dataset, decoded, plans);
  else if (!workers.decodes) throw new Error('assembleBatchInWorkers: the workers cannot decode (sharp not found); pass decoded images');
  const l = layoutBatch(dataset, plans, opts);
  const pixels = await workers.run({
    images: plans.map((p, i) => {
      const info = dataset.image(p.imageId);
      const image = decoded
        ? decoded[i]
        : {
            path: dataset.imagePath(p.imageId),
            width: info.width,
            height: info.height,
          };
      return { image, size: l.sizes[i], flip: p.flip };
    }),
    height: l.height,
    width: l.width,
    pixels: resolvePixels(opts.pixels),
  });
  return toBatch(l, pixels, plans, originalSizes(dataset, plans));
}
