import type { HeadOutputs } from '@dynhead/router';
import * as tf from '@tensorflow/tfjs-core';
import { locationAnchors } from '../anchors/anchors';
import { type AnchorTargets, assignAtss, assignRetinaNet } from '../anchors/assign';
import { linearDeltas } from '../anchors/decode';
import { atssLosses, freeAnchorLosses, retinaNetLosses } from '../anchors/loss';
import { anchorDetect } from '../anchors/postprocess';
import type { DetectorConfig } from '../config';
import type { DetectionBatch } from '../data/batch';
import { flattenLevels } from '../fcos/flatten';
import type { LevelGrid } from '../fcos/locations';
import { fcosLosses } from '../fcos/loss';
import { fcosDetect } from '../fcos/postprocess';
import { type FcosTargets, assignFcosTargets } from '../fcos/targets';
import type { Detections } from '../postprocess/detections';
import { InputError } from '../input-error';

function anchorsOf(config: DetectorConfig, grids: LevelGrid[]) {
  const a = config.anchors;
  return locationAnchors(grids, a.sizes, a.scales[0], a.aspectRatios[0], config.fcos.pointOffset);
}

/** Targets of a batch for the config's detector kind (plain arrays, computed outside the tape). */
export function detectorTargets(config: DetectorConfig, batch: DetectionBatch, grids: LevelGrid[]): unknown {
  const C = config.head.numClasses;
  switch (config.detector) {
    case 'fcos':
      return batch.targets.map((t) => assignFcosTargets(grids, t, { numClasses: C, ...config.fcos }));
    case 'retinanet': {
      const { anchors } = anchorsOf(config, grids);
      return batch.targets.map((t) => assignRetinaNet(anchors, t, C, config.anchors.iouThresholds));
    }
    case 'atss': {
      const { anchors, levelOf } = anchorsOf(config, grids);
      return batch.targets.map((t) => assignAtss(anchors, levelOf, grids.length, t, C, config.anchors.atssTopk));
    }
    case 'freeanchor':
      return batch.targets;
  }
}

/** The detector kind's loss terms (each a scalar), from the head's training outputs. */
export function detectorLosses(config: DetectorConfig, out: HeadOutputs, batch: DetectionBatch, grids: LevelGrid[], targets?: unknown): Record<string, tf.Scalar> {
  const t = targets ?? detectorTargets(config, batch, grids);
  const C = config.head.numClasses;
  if (config.detector === 'fcos') {
    const l = fcosLosses(out, t as FcosTargets[], { numClasses: C, focal: config.focal, iouLossType: config.fcos.iouLossType });
    return { cls: l.cls, reg: l.reg, centerness: l.centerness };
  }
  if (config.head.normRegTargets) {
    throw new InputError(`config '${config.name}': anchor detectors need head.normRegTargets false (signed box deltas)`);
  }
  const dense = tf.tidy(() => ({
    logits: tf.reshape(flattenLevels(out.logits), [-1, C]) as tf.Tensor2D,
    deltas: tf.reshape(linearDeltas(flattenLevels(out.bboxReg)), [-1, 4]) as tf.Tensor2D,
    centerness: tf.reshape(flattenLevels(out.centerness), [-1]) as tf.Tensor1D,
  }));
  try {
    const { anchors } = anchorsOf(config, grids);
    const a = config.anchors;
    switch (config.detector) {
      case 'retinanet':
        return retinaNetLosses(dense, t as AnchorTargets[], C, config.focal, a.smoothL1Beta);
      case 'atss':
        return atssLosses(dense, anchors, t as AnchorTargets[], C, config.focal);
      case 'freeanchor':
        return freeAnchorLosses(dense, anchors, batch.targets, C, {
          bagSize: a.freeAnchorBagSize,
          iouThreshold: a.freeAnchorIouThreshold,
          gamma: a.freeAnchorFocalGamma,
          alpha: a.freeAnchorAlpha,
          beta: 0.11,
          regWeight: 0.75,
        });
    }
  } finally {
    tf.dispose([dense.logits, dense.deltas, dense.centerness]);
  }
}

/** Per-image detections in input pixels. */
export async function detectorPostprocess(config: DetectorConfig, out: HeadOutputs, grids: LevelGrid[]): Promise<Detections[]> {
  const B = out.logits[0].shape[0];
  const C = config.head.numClasses;
  const results: Detections[] = [];
  const anchors = config.detector === 'fcos' ? null : anchorsOf(config, grids).anchors;
  for (let b = 0; b < B; b++) {
    const pick = (maps: tf.Tensor4D[]) => maps.map((m) => tf.slice(m, [b, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D);
    const logits = pick(out.logits);
    const reg = pick(out.bboxReg);
    const ctr = pick(out.centerness);
    try {
      if (!anchors) {
        results.push(await fcosDetect(logits, reg, ctr, grids, { numClasses: C, ...config.test, pointOffset: config.fcos.pointOffset }));
      } else {
        const deltas = reg.map((r) => linearDeltas(r) as tf.Tensor4D);
        try {
          results.push(await anchorDetect(logits, deltas, ctr, anchors, { numClasses: C, ...config.test, useCenterness: config.detector === 'atss' }));
        } finally {
          tf.dispose(deltas);
        }
      }
    } finally {
      tf.dispose([...logits, ...reg, ...ctr]);
    }
  }
  return results;
}
