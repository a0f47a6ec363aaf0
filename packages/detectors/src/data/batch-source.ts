import { join } from 'node:path';
import { type DetectionBatch, type DetectionSample, type InputOptions, type RgbImage, assembleBatch, resizeImage, resizedSize } from './batch';
import { planBatch } from './sampler';
import { InputError } from '../input-error';

export type ImageDecoder = (path: string) => Promise<RgbImage>;

export interface BatchSourceOptions {
  imagesDir: string;
  input: InputOptions;
  batchSize: number;
  hflipProb: number;
  seed: number;
  decode: ImageDecoder;
  /** Keep resized images in memory (small datasets). */
  cache: boolean;
}

/** Batches of a detection dataset: training batches by iteration (deterministic), test batches in order. */
export class BatchSource {
  private readonly cache = new Map<number, RgbImage>();

  constructor(
    readonly samples: DetectionSample[],
    readonly options: BatchSourceOptions,
  ) {
    if (samples.length === 0) throw new Error(`BatchSource: no images (imagesDir ${options.imagesDir})`);
  }

  private async resized(i: number): Promise<RgbImage> {
    const hit = this.cache.get(i);
    if (hit) return hit;
    const s = this.samples[i];
    const path = join(this.options.imagesDir, s.file);
    const img = await this.options.decode(path);
    if (img.width !== s.width || img.height !== s.height) {
      throw new InputError(`${path}: decoded ${img.width}x${img.height}, the annotation says ${s.width}x${s.height}`);
    }
    const size = resizedSize(s.height, s.width, this.options.input);
    const out = await resizeImage(img, size.height, size.width);
    if (this.options.cache) this.cache.set(i, out);
    return out;
  }

  /** The batch of training iteration `iter` (0-based). */
  async trainBatch(iter: number): Promise<DetectionBatch> {
    const o = this.options;
    const plan = planBatch(o.seed, iter, o.batchSize, this.samples.length, o.hflipProb);
    const items = [];
    for (let k = 0; k < plan.indices.length; k++) {
      const i = plan.indices[k];
      items.push({ image: await this.resized(i), sample: this.samples[i], flip: plan.flips[k] });
    }
    return assembleBatch(items, o.input.sizeDivisibility);
  }

  /** Test batches over all images, in order, unflipped. */
  async *testBatches(batchSize = 1): AsyncGenerator<DetectionBatch> {
    for (let start = 0; start < this.samples.length; start += batchSize) {
      const items = [];
      for (let i = start; i < Math.min(start + batchSize, this.samples.length); i++) {
        items.push({ image: await this.resized(i), sample: this.samples[i], flip: false });
      }
      yield assembleBatch(items, this.options.input.sizeDivisibility);
    }
  }
}
