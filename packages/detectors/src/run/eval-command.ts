import { serializeResults } from '@dynhead/coco';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Detector } from '../model/detector';
import { loadCheckpoint, writeFileAtomic } from '../train/checkpoint';
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

/** Builds the detector a checkpoint directory holds (config from its JSON, weights from its safetensors). */
export function detectorFromCheckpoint(dir: string): Detector {
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
  return detector;
}

/** `dynhead eval`: COCO AP of a checkpoint on a split, and the head's GFLOPs avg / min / max. */
export async function runEval(o: EvalCommandOptions): Promise<DetectorEvaluation> {
  for (const [flag, path] of [
    ['--ann', o.ann],
    ['--images', o.images],
  ] as const) {
    if (!existsSync(path)) throw new InputError(`${flag}: ${path} does not exist`);
  }
  const detector = detectorFromCheckpoint(o.checkpoint);
  try {
    const split = openCocoSplit(detector.config, o.ann, o.images, false);
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
