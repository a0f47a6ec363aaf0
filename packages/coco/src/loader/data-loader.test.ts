import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { activate, relL2 } from '../../../../test/backends';
import {
  CocoDataset,
  type CocoJson,
  DataLoader,
  type DetectionBatch,
  loadImage,
  pixelLayouts,
  sharpImageDecoder,
  shortestEdgeSize,
  startPixelWorkers,
} from '../index';
import { bilinearResize, flipHwc, normalizeHwc } from '../test-support/reference';
import { BCCD_IMAGES, BCCD_TRAIN } from '../test-support/shared';

// Small images keep this fast; the 800 px speed is measured in benchmarks/src/coco-loader.ts.
const SHORT = 48;
const full: CocoJson = JSON.parse(readFileSync(BCCD_TRAIN, 'utf8'));
const ids = new Set(full.images.slice(0, 7).map((im) => im.id));
const subset: CocoJson = {
  ...full,
  images: full.images.filter((im) => ids.has(im.id)),
  annotations: full.annotations.filter((a) => ids.has(a.image_id)),
};
const dataset = new CocoDataset(full, {
  source: 'bccd-train',
  imagesDir: BCCD_IMAGES,
}).subset(ids);

/** Boxes of one image in float64 from the JSON: [x1, y1, x2, y2] scaled, then mirrored when flipped. */
function expectedBoxes(imageId: number, h: number, w: number, flipped: boolean): number[] {
  const im = dataset.image(imageId);
  const sx = w / im.width;
  const sy = h / im.height;
  return subset.annotations
    .filter((a) => a.image_id === imageId)
    .flatMap((a) => {
      const [x, y, bw, bh] = a.bbox;
      const x1 = x * sx;
      const x2 = (x + bw) * sx;
      return flipped ? [w - x2, y * sy, w - x1, (y + bh) * sy] : [x1, y * sy, x2, (y + bh) * sy];
    });
}

// Three paths: a worker that reads + decodes + transforms (default), main-thread decoding (an injected
// decoder) with the pixel pass in a worker, and everything inline.
describe.each([
  { backend: 'cpu', workers: 1, decoder: undefined },
  { backend: 'cpu', workers: 1, decoder: sharpImageDecoder },
  { backend: 'wasm', workers: 0, decoder: undefined },
] as const)('DataLoader on $backend, $workers worker(s), decoder $decoder', ({ backend, workers, decoder }) => {
  it('batches: padded shape, true sizes, labels, boxes following resize and flip', async () => {
    await activate(backend);
    const loader = new DataLoader(dataset, {
      batchSize: 2,
      shortEdges: [SHORT],
      seed: 5,
      prefetchBatches: 2,
      workers,
      decoder,
    });
    expect(loader.batchesPerEpoch).toBe(3); // 7 images, drop last
    const [h, w] = shortestEdgeSize(480, 640, SHORT, 1333); // 48 x 64
    let flips = 0;
    let seen = 0;
    for await (const b of loader.epoch(0)) {
      expect(b.images.shape).toEqual([2, 64, 64, 3]);
      expect(b.imageSizes).toEqual([
        [h, w],
        [h, w],
      ]);
      b.imageIds.forEach((id, i) => {
        const labels = subset.annotations.filter((a) => a.image_id === id).map((a) => dataset.labelOf(a.category_id));
        expect(Array.from(b.labels[i])).toEqual(labels);
        const want = expectedBoxes(id, h, w, b.flipped[i]);
        expect(b.boxes[i]).toHaveLength(want.length);
        b.boxes[i].forEach((v, j) => {
          expect(Math.abs(v - want[j])).toBeLessThan(1e-3);
        });
        expect(b.scales[i]).toEqual([h / 480, w / 640]);
        if (b.flipped[i]) flips++;
      });
      seen += 2;
      b.dispose();
    }
    expect(seen).toBe(6);
    expect(flips).toBeGreaterThan(0);
    expect(flips).toBeLessThan(6);
    await loader.close();
  });

  it('pixels equal decode -> float64 bilinear -> flip -> msra normalisation, zero padding', async () => {
    await activate(backend);
    const loader = new DataLoader(dataset, {
      batchSize: 1,
      shortEdges: [SHORT],
      seed: 1,
      flipProbability: 1,
      shuffle: false,
      workers,
      decoder,
    });
    const it = loader.epoch(0);
    const b = (await it.next()).value as DetectionBatch;
    await it.return(undefined);
    const rgb = await loadImage(dataset.imagePath(b.imageIds[0]));
    const [h, w] = b.imageSizes[0];
    const p = pixelLayouts.msra;
    const ref = normalizeHwc(flipHwc(bilinearResize(rgb.data, rgb.height, rgb.width, 3, h, w), h, w, 3), h * w, true, p.mean, p.std);
    const all = await b.images.data();
    const [, Hp, Wp] = b.images.shape;
    const inside: number[] = [];
    let padding = 0;
    for (let y = 0; y < Hp; y++)
      for (let x = 0; x < Wp; x++)
        for (let k = 0; k < 3; k++) {
          const v = all[(y * Wp + x) * 3 + k];
          if (y < h && x < w) inside.push(v);
          else padding += Math.abs(v);
        }
    expect(relL2(inside, ref)).toBeLessThan(1e-5);
    expect(padding).toBe(0);
    b.dispose();
    await loader.close();
  });

  it('is leak-free: tensors after N batches equal those after one, and leaving early releases prefetched batches', async () => {
    await activate(backend);
    const loader = new DataLoader(dataset, {
      batchSize: 1,
      shortEdges: [SHORT, 40],
      seed: 2,
      prefetchBatches: 3,
      workers,
      decoder,
    });
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    for await (const b of loader.epoch(0)) {
      b.dispose();
      counts.push(tf.memory().numTensors);
    }
    expect(counts.length).toBe(7);
    // Prefetched batches are alive while iterating; after the epoch nothing is.
    expect(tf.memory().numTensors).toBe(before);
    for await (const b of loader.epoch(1)) {
      b.dispose();
      break;
    }
    expect(tf.memory().numTensors).toBe(before);
    await loader.close();
  });
});

describe('DataLoader errors', () => {
  it('the workers find sharp and decode themselves', async () => {
    const w = await startPixelWorkers(1);
    expect(w?.decodes).toBe(true);
    await w?.close();
  });

  it('a file that fails to decode in the worker rejects that batch with the file named', async () => {
    const broken = new CocoDataset(subset, { imagesDir: '/nonexistent-dir' });
    const loader = new DataLoader(broken, {
      batchSize: 1,
      shortEdges: [SHORT],
      workers: 1,
    });
    await expect(loader.epoch(0).next()).rejects.toThrow(/nonexistent-dir\/BloodImage_\d+\.jpg/);
    await loader.close();
  });
});

describe('DataLoader plans', () => {
  it('subset keeps the chosen images, their annotations and every category', () => {
    expect(dataset.images.map((im) => im.id)).toEqual(subset.images.map((im) => im.id));
    expect(dataset.json.annotations).toEqual(subset.annotations);
    expect(dataset.numClasses).toBe(3);
    expect(() => dataset.subset([123456])).toThrow(/unknown image id 123456/);
  });

  it('are deterministic in the seed, cover each image once per epoch, and draw sizes from the list', () => {
    const cfg = {
      batchSize: 3,
      shortEdges: [32, 40, 48],
      seed: 9,
      dropLast: false,
    };
    const a = new DataLoader(dataset, cfg).plan(0);
    expect(new DataLoader(dataset, cfg).plan(0)).toEqual(a);
    expect(new DataLoader(dataset, cfg).plan(1)).not.toEqual(a);
    const flat = a.flat();
    expect(flat.map((p) => p.imageId).sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
    expect(a.map((b) => b.length)).toEqual([3, 3, 1]);
    expect(flat.every((p) => cfg.shortEdges.includes(p.shortEdge))).toBe(true);
    const test = new DataLoader(dataset, {
      batchSize: 1,
      shuffle: false,
      flipProbability: 0,
    }).plan(0);
    expect(test.map((b) => b[0].imageId)).toEqual(subset.images.map((im) => im.id));
    expect(test.every((b) => !b[0].flip)).toBe(true);
  });

  it('refuses bad configs, naming the field', () => {
    expect(() => new DataLoader(dataset, { batchSize: 0 })).toThrow(/config\.batchSize must be a positive integer, got 0/);
    expect(() => new DataLoader(dataset, { flipProbability: 2 })).toThrow(/config\.flipProbability must be in \[0, 1\], got 2/);
    expect(() => new DataLoader(dataset, { shortEdges: [] })).toThrow(/config\.shortEdges/);
    expect(() => new DataLoader(dataset, { workers: -1 })).toThrow(/config\.workers must be an integer >= 0, got -1/);
  });
});
