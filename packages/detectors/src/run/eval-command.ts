import { serializeResults } from '@dynhead/coco';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Detector } from '../model/detector';
import { type CheckpointMeta, formatCategories, loadCheckpoint, sameCategories, writeFileAtomic } from '../train/checkpoint';
import { type DetectorEvaluation, evaluateDetector } from './evaluate';
import { openCocoSplit, reviveConfig } from './split';
import { InputError } from '../input-error';

export interface EvalCommandOptions {
  checkpoint: string;
  ann: string;
  images: string;
  limit?: number;
  /** Also write the detections here as a COCO results file (`dynhead cocoeval --dt` reads it). */
  results?: string;
}

/** The detector a checkpoint directory holds (config from its JSON, weights from its safetensors), with that JSON. */
export function openCheckpoint(dir: string): { detector: Detector; meta: CheckpointMeta } {
  if (!existsSync(dir)) throw new InputError(`--checkpoint: ${dir} does not exist`);
  const ck = loadCheckpoint(dir);
  const config = reviveConfig(ck.meta.config);
  const detector = new Detector(config);
  try {
    detector.loadStateDict(ck.model, join(dir, ck.meta.weights));
  } catch (e) {
    detector.dispose();
    throw e;
  }
  return { detector, meta: ck.meta };
}

/** Builds the detector a checkpoint directory holds (openCheckpoint without the JSON). */
export function detectorFromCheckpoint(dir: string): Detector {
  return openCheckpoint(dir).detector;
}

/** `dynhead eval`: COCO AP of a checkpoint on a split, and the head's GFLOPs avg / min / max. */
export async function runEval(o: EvalCommandOptions): Promise<DetectorEvaluation> {
  for (const [flag, path] of [
    ['--ann', o.ann],
    ['--images', o.images],
  ] as const) {
    if (!existsSync(path)) throw new InputError(`${flag}: ${path} does not exist`);
  }
  const { detector, meta } = openCheckpoint(o.checkpoint);
  try {
    const split = openCocoSplit(detector.config, o.ann, o.images, false);
    // labels become the file's category ids in sorted order: they must be the ids trained on
    if (meta.categories && !sameCategories(meta.categories, split.categories)) {
      throw new InputError(`--ann: ${o.ann} has categories ${formatCategories(split.categories)}, the checkpoint was trained on ${formatCategories(meta.categories)}`);
    }
    const ev = await evaluateDetector(detector, split.source, split.json, split.categoryIds, { limit: o.limit });
    if (o.results) writeFileAtomic(o.results, serializeResults(ev.results));
    return ev;
  } finally {
    detector.dispose();
  }
}

export function formatEvaluation(ev: DetectorEvaluation): string {
  const f = (v: number) => v.toFixed(4);
  return [
    ev.summary,
    `head GFLOPs (used multiply-adds / 2^30, per image over ${ev.flops.images} images): avg ${f(ev.flops.avg)}  min ${f(ev.flops.min)}  max ${f(ev.flops.max)}  (full head ${f(ev.flops.fullAvg)})`,
    `inference: ${ev.msPerImage.toFixed(0)} ms per image`,
  ].join('\n');
}
