import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadImage } from '@dynhead/coco';
import type { DetectorConfig } from '../config';
import { BatchSource } from '../data/batch-source';
import { type CocoSamples, readCocoSamples } from '../data/coco-samples';
import { InputError } from '../input-error';

export interface CocoSplit extends CocoSamples {
  source: BatchSource;
}

/** A COCO annotation file + image folder as batches for the config's input size. */
export function openCocoSplit(config: DetectorConfig, annPath: string, imagesDir: string, train: boolean): CocoSplit {
  const samples = readCocoSamples(annPath);
  if (samples.categoryIds.length !== config.head.numClasses) {
    throw new InputError(`${annPath}: ${samples.categoryIds.length} categories, but config '${config.name}' has head.numClasses ${config.head.numClasses}`);
  }
  // a missing image would otherwise stop training when its batch comes up, possibly hours in
  const missing = samples.samples.filter((sample) => !existsSync(join(imagesDir, sample.file))).map((sample) => sample.file);
  if (missing.length) {
    const shown = missing.slice(0, 3).join(', ') + (missing.length > 3 ? ', ...' : '');
    throw new InputError(`${annPath}: ${missing.length} of ${samples.samples.length} images are not in ${imagesDir} (${shown}); \`dynhead validate\` checks a dataset in full`);
  }
  const source = new BatchSource(samples.samples, {
    imagesDir,
    input: config.input,
    batchSize: config.solver.batchSize,
    hflipProb: train ? config.input.hflipProb : 0,
    seed: config.solver.seed,
    decode: (path) => loadImage(path),
    cache: samples.samples.length <= 2000,
  });
  return { ...samples, source };
}

/** A config read back from JSON: Infinity does not survive JSON (it becomes null). */
export function reviveConfig(raw: unknown): DetectorConfig {
  const c = raw as DetectorConfig;
  if (!c || typeof c !== 'object' || !c.head || !c.backbone || !c.fcos) throw new InputError('checkpoint config: not a detector config (missing head, backbone or fcos)');
  const sizes = c.fcos.sizesOfInterest.map(([lo, hi]) => [lo, hi === null ? Number.POSITIVE_INFINITY : hi] as [number, number]);
  return { ...c, fcos: { ...c.fcos, sizesOfInterest: sizes } };
}
