import * as tf from '@tensorflow/tfjs-core';
import { type FocalLossOptions, bceWithLogits, sigmoidFocalLoss } from '../losses/focal';
import { type IouLossType, ltrbIouLoss } from '../losses/giou';
import { flattenLevels } from './flatten';
import type { FcosTargets } from './targets';

export interface FcosLossOptions {
  numClasses: number;
  focal: FocalLossOptions;
  iouLossType: IouLossType;
}

export interface FcosHeadMaps {
  logits: tf.Tensor4D[];
  bboxReg: tf.Tensor4D[];
  centerness: tf.Tensor4D[];
}

export interface FcosLosses {
  cls: tf.Scalar;
  reg: tf.Scalar;
  centerness: tf.Scalar;
}

/** Batch targets as tensors: [B*N, C] one-hot (zeros for background), [B*N, 4], [B*N] weights. */
function targetTensors(targets: FcosTargets[], numClasses: number) {
  const N = targets[0].classes.length;
  const B = targets.length;
  const oneHot = new Float32Array(B * N * numClasses);
  const ltrb = new Float32Array(B * N * 4);
  const ctr = new Float32Array(B * N);
  const fg = new Float32Array(B * N);
  let numFg = 0;
  let ctrSum = 0;
  targets.forEach((t, b) => {
    if (t.classes.length !== N) throw new Error(`fcosLosses: image ${b} has ${t.classes.length} locations, image 0 has ${N}`);
    ltrb.set(t.ltrb, b * N * 4);
    for (let n = 0; n < N; n++) {
      const c = t.classes[n];
      if (c >= numClasses) continue;
      const k = b * N + n;
      oneHot[k * numClasses + c] = 1;
      ctr[k] = t.centerness[n];
      fg[k] = 1;
      numFg++;
      ctrSum += t.centerness[n];
    }
  });
  return { oneHot, ltrb, ctr, fg, numFg, ctrSum, rows: B * N };
}

/**
 * FCOS losses (cvpods FCOS.losses): focal loss summed over all locations and classes / #fg;
 * IoU loss over foreground weighted by the centerness target / sum of those targets; centerness
 * BCE with logits over foreground / #fg. #fg is at least 1, the centerness sum at least 1e-6.
 * Computed densely with 0/1 masks, so no gather (and no gather gradient) is needed.
 */
export function fcosLosses(maps: FcosHeadMaps, targets: FcosTargets[], options: FcosLossOptions): FcosLosses {
  const C = options.numClasses;
  const t = targetTensors(targets, C);
  return tf.tidy(() => {
    const logits = tf.reshape(flattenLevels(maps.logits), [-1, C]);
    const reg = tf.reshape(flattenLevels(maps.bboxReg), [-1, 4]);
    const ctrLogits = tf.reshape(flattenLevels(maps.centerness), [-1]);
    if (logits.shape[0] !== t.rows) {
      throw new Error(`fcosLosses: head gives ${logits.shape[0]} locations, targets ${t.rows} (B * N)`);
    }
    const numFg = Math.max(t.numFg, 1);
    const cls = tf.div(tf.sum(sigmoidFocalLoss(logits, tf.tensor2d(t.oneHot, [t.rows, C]), options.focal)), numFg) as tf.Scalar;
    const ctrTarget = tf.tensor1d(t.ctr);
    const fgMask = tf.tensor1d(t.fg);
    const iou = ltrbIouLoss(reg, tf.tensor2d(t.ltrb, [t.rows, 4]), options.iouLossType);
    const regLoss = tf.div(tf.sum(tf.mul(iou, ctrTarget)), Math.max(t.ctrSum, 1e-6)) as tf.Scalar;
    const ctrLoss = tf.div(tf.sum(tf.mul(bceWithLogits(ctrLogits, ctrTarget), fgMask)), numFg) as tf.Scalar;
    return { cls, reg: regLoss, centerness: ctrLoss };
  });
}
