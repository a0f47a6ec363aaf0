// Files that tests make and share (not published): temporary folders, a few BCCD images as a COCO
// file, and a tiny trained checkpoint. @dynhead/detectors by path, not by name: its own tests use
// these, and by name they would type-check against its build.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CocoJson } from '@dynhead/coco';
import { BatchSource, type DetectorConfig, fcosDynamicTiny, syntheticDataset, type TrainOptions, train } from '../packages/detectors/src/index';
import { afterAll } from 'vitest';

/** The bundled BCCD dataset (../shared beside the clone). */
export const BCCD = fileURLToPath(new URL('../../shared/datasets/bccd', import.meta.url));
export const BCCD_IMAGES = join(BCCD, 'images');
export const BCCD_CATEGORIES = [
  { id: 1, name: 'RBC' },
  { id: 2, name: 'WBC' },
  { id: 3, name: 'Platelets' },
];

/** A maker of temporary folders named `dynhead-<prefix>-*`, all removed after the calling test file. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), `dynhead-${prefix}-`));
    dirs.push(dir);
    return dir;
  };
}

/** The first `count` images of a BCCD split and their boxes, written as a COCO file into `dir`. */
export function bccdSubset(dir: string, split: 'train' | 'val', count: number, name = `${split}.json`): { ann: string; gt: CocoJson } {
  const full = JSON.parse(readFileSync(join(BCCD, `annotations/instances_${split}.json`), 'utf8')) as CocoJson;
  const images = full.images.slice(0, count);
  const ids = new Set(images.map((i) => i.id));
  const gt: CocoJson = { ...full, images, annotations: full.annotations.filter((a) => ids.has(a.image_id)) };
  const ann = join(dir, name);
  writeFileSync(ann, JSON.stringify(gt));
  return { ann, gt };
}

/** fcos-dynamic-tiny scoring every box (test.scoreThreshold 0), so that every image has detections. */
export const tinyScoringAll: DetectorConfig = { ...fcosDynamicTiny, test: { ...fcosDynamicTiny.test, scoreThreshold: 0 } };

/** Two synthetic images in batches of two, for the tiny config. */
export function tinyData(config: DetectorConfig = tinyScoringAll): BatchSource {
  const { samples, decode } = syntheticDataset(2, 64, 48, 3);
  return new BatchSource(samples, { imagesDir: '/synthetic', input: config.input, batchSize: 2, hflipProb: 0, seed: 1, decode, cache: true });
}

/** train() of tinyScoringAll on tinyData into `dir` (with BCCD's categories), the detector disposed. */
export async function tinyTrain(dir: string, options: Omit<TrainOptions, 'outDir'> = {}): Promise<void> {
  (await train(tinyScoringAll, tinyData(), { outDir: dir, logFormat: 'none', categories: BCCD_CATEGORIES, ...options })).detector.dispose();
}

/** A checkpoint of tinyScoringAll after `iters` iterations on tinyData, keeping BCCD's categories, in `dir`. */
export function tinyCheckpoint(dir: string, iters = 1): Promise<void> {
  return tinyTrain(dir, { maxIters: iters });
}
