import type { HeadOutputs } from '@dynhead/router';
import * as tf from '@tensorflow/tfjs-core';
import type { DetectorConfig } from '../config';
import type { DetectionBatch } from '../data/batch';
import type { LevelGrid } from '../fcos/locations';
import { fcosLosses } from '../fcos/loss';
import { fcosDetect } from '../fcos/postprocess';
import { type FcosTargets, assignFcosTargets } from '../fcos/targets';
import type { Detections } from '../postprocess/detections';

/** Targets of a batch for the config's detector kind (plain arrays, computed outside the tape). */
export function detectorTargets(config: DetectorConfig, batch: DetectionBatch, grids: LevelGrid[]): unknown {
  switch (config.detector) {
    case 'fcos':
      return batch.targets.map((t) =>
        assignFcosTargets(grids, t, { numClasses: config.head.numClasses, ...config.fcos }),
      );
    default:
      throw new Error(`detector '${config.detector}' is not implemented yet`);
  }
}

/** The detector kind's loss terms (each a scalar), from the head's training outputs. */
export function detectorLosses(
  config: DetectorConfig,
  out: HeadOutputs,
  batch: DetectionBatch,
  grids: LevelGrid[],
  targets?: unknown,
): Record<string, tf.Scalar> {
  const t = targets ?? detectorTargets(config, batch, grids);
  switch (config.detector) {
    case 'fcos': {
      const l = fcosLosses(out, t as FcosTargets[], { numClasses: config.head.numClasses, focal: config.focal, iouLossType: config.fcos.iouLossType });
      return { cls: l.cls, reg: l.reg, centerness: l.centerness };
    }
    default:
      throw new Error(`detector '${config.detector}' is not implemented yet`);
  }
}

/** Per-image detections in input pixels. */
export async function detectorPostprocess(config: DetectorConfig, out: HeadOutputs, grids: LevelGrid[]): Promise<Detections[]> {
  const B = out.logits[0].shape[0];
  const results: Detections[] = [];
  for (let b = 0; b < B; b++) {
    const pick = (maps: tf.Tensor4D[]) => maps.map((m) => tf.slice(m, [b, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D);
    const logits = pick(out.logits);
    const reg = pick(out.bboxReg);
    const ctr = pick(out.centerness);
    try {
      switch (config.detector) {
        case 'fcos':
          results.push(await fcosDetect(logits, reg, ctr, grids, { numClasses: config.head.numClasses, ...config.test, pointOffset: config.fcos.pointOffset }));
          break;
        default:
          throw new Error(`detector '${config.detector}' is not implemented yet`);
      }
    } finally {
      tf.dispose([...logits, ...reg, ...ctr]);
    }
  }
  return results;
}
