// A prefetching loader: the next batches are read, decoded and transformed (in a worker thread in
// Node) while the consumer works on the current one.

import type { CocoDataset } from '../dataset';
import { type ImageDecoder, loadImage } from '../image/decoder';
import type { PixelLayout, PixelNormalization } from '../transforms/normalize';
import { type PixelWorkers, startPixelWorkers } from './pixel-workers';
import { type DetectionBatch, type SamplePlan, assembleBatch, assembleBatchInWorkers } from './prepare';
import { mulberry32, shuffleInPlace } from './random';

export interface LoaderConfig {
  batchSize: number;
  shuffle: boolean;
  /** Seeds the order, sizes and flips; epoch e uses seed + e. */
  seed: number;
  /** Shortest-edge sizes; each image draws one at random (train), or the single one (test). */
  shortEdges: number[];
  maxSize: number;
  flipProbability: number;
  /** Batch height and width are padded up to a multiple of this (the largest FPN stride). */
  sizeDivisibility: number;
  pixels: PixelLayout | PixelNormalization;
  /** Batches prepared ahead of the consumer. */
  prefetchBatches: number;
  dropLast: boolean;
  /** Skip images without (non-crowd) boxes, as detectron2 does for training. */
  skipEmpty: boolean;
  includeCrowd: boolean;
  /** Worker threads that read, decode, resize, flip and normalise (Node); 0: all on the calling thread. */
  workers: number;
  decoder?: ImageDecoder;
}

/** The official D8 training input: shortest edge 800 (max 1333), random flip, MSRA pixels. */
export const trainLoaderConfig: LoaderConfig = {
  batchSize: 2,
  shuffle: true,
  seed: 0,
  shortEdges: [800],
  maxSize: 1333,
  flipProbability: 0.5,
  sizeDivisibility: 32,
  pixels: 'msra',
  prefetchBatches: 2,
  dropLast: true,
  skipEmpty: true,
  includeCrowd: false,
  workers: 1,
};

/** Evaluation input: every image once, in file order, no flip. */
export const testLoaderConfig: LoaderConfig = {
  ...trainLoaderConfig,
  batchSize: 1,
  shuffle: false,
  flipProbability: 0,
  dropLast: false,
  skipEmpty: false,
};

function checkConfig(c: LoaderConfig): void {
  const bad = (field: string, why: string) => {
    throw new Error(`DataLoader: config.${field} ${why}`);
  };
  if (!(Number.isInteger(c.batchSize) && c.batchSize > 0)) bad('batchSize', `must be a positive integer, got ${c.batchSize}`);
  if (!(Number.isInteger(c.prefetchBatches) && c.prefetchBatches >= 1)) bad('prefetchBatches', `must be an integer >= 1, got ${c.prefetchBatches}`);
  if (!c.shortEdges.length || !c.shortEdges.every((s) => s > 0)) bad('shortEdges', `must be positive sizes, got [${c.shortEdges}]`);
  if (!(c.maxSize > 0)) bad('maxSize', `must be > 0, got ${c.maxSize}`);
  if (!(Number.isInteger(c.workers) && c.workers >= 0)) bad('workers', `must be an integer >= 0, got ${c.workers}`);
  if (!(c.flipProbability >= 0 && c.flipProbability <= 1)) bad('flipProbability', `must be in [0, 1], got ${c.flipProbability}`);
}

export class DataLoader implements AsyncIterable<DetectionBatch> {
  readonly config: LoaderConfig;
  readonly imageIds: number[];

  constructor(
    readonly dataset: CocoDataset,
    config: Partial<LoaderConfig> = {},
  ) {
    this.config = { ...trainLoaderConfig, ...config };
    checkConfig(this.config);
    const c = this.config;
    this.imageIds = dataset.images.map((im) => im.id).filter((id) => !c.skipEmpty || dataset.targets(id, { includeCrowd: c.includeCrowd }).labels.length > 0);
  }

  get batchesPerEpoch(): number {
    const n = this.imageIds.length / this.config.batchSize;
    return this.config.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** Which images, at which size and flip, make each batch of an epoch (deterministic in seed + epoch). */
  plan(epoch = 0): SamplePlan[][] {
    const c = this.config;
    const rand = mulberry32(c.seed + epoch * 0x9e3779b1);
    const order = c.shuffle ? shuffleInPlace([...this.imageIds], rand) : [...this.imageIds];
    const batches: SamplePlan[][] = [];
    for (let i = 0; i < order.length; i += c.batchSize) {
      const ids = order.slice(i, i + c.batchSize);
      if (ids.length < c.batchSize && c.dropLast) break;
      batches.push(
        ids.map((imageId) => ({
          imageId,
          shortEdge: c.shortEdges.length === 1 ? c.shortEdges[0] : c.shortEdges[Math.floor(rand() * c.shortEdges.length)],
          flip: c.flipProbability > 0 && rand() < c.flipProbability,
        })),
      );
    }
    return batches;
  }

  private workers: Promise<PixelWorkers | null> | null = null;

  /** Decodes and transforms one planned batch (in the worker threads when there are any). */
  async loadBatch(plans: SamplePlan[]): Promise<DetectionBatch> {
    const c = this.config;
    this.workers ??= startPixelWorkers(c.workers, { decode: !c.decoder });
    const workers = await this.workers;
    if (workers?.decodes && !c.decoder) return assembleBatchInWorkers(this.dataset, null, plans, c, workers);
    const decoded = await Promise.all(plans.map((p) => loadImage(this.dataset.imagePath(p.imageId), { decoder: c.decoder })));
    return workers ? assembleBatchInWorkers(this.dataset, decoded, plans, c, workers) : assembleBatch(this.dataset, decoded, plans, c);
  }

  /** Stops the worker threads (idle workers never keep a process alive; this frees them early). */
  async close(): Promise<void> {
    const workers = await this.workers;
    this.workers = null;
    await workers?.close();
  }

  /** One epoch of batches; the consumer disposes each batch. Leaving early disposes the prefetched ones. */
  async *epoch(epoch = 0): AsyncGenerator<DetectionBatch> {
    const plan = this.plan(epoch);
    const pending: Promise<DetectionBatch>[] = [];
    let next = 0;
    const fill = () => {
      while (pending.length < this.config.prefetchBatches && next < plan.length) {
        const p = this.loadBatch(plan[next++]);
        p.catch(() => {}); // surfaced when awaited, not as an unhandled rejection meanwhile
        pending.push(p);
      }
    };
    try {
      fill();
      while (pending.length) {
        const current = pending.shift() as Promise<DetectionBatch>;
        fill();
        yield await current;
      }
    } finally {
      // Left early (break / error): release what was prefetched before returning.
      await Promise.allSettled(pending.splice(0).map((p) => p.then((b) => b.dispose())));
    }
  }

  /** Epochs back to back, without end (training by iterations). */
  async *forever(startEpoch = 0): AsyncGenerator<DetectionBatch> {
    for (let e = startEpoch; ; e++) yield* this.epoch(e);
  }

  [Symbol.asyncIterator](): AsyncIterator<DetectionBatch> {
    return this.epoch(0);
  }
}
