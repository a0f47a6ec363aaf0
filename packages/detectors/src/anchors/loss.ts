import * as tf from '@tensorflow/tfjs-core';
import type { FocalLossOptions } from '../losses/focal';
import { bceWithLogits, sigmoidFocalLoss } from '../losses/focal';
import { xyxyGiouLoss } from '../losses/giou';
import { smoothL1 } from '../losses/smooth-l1';
import type { ImageTargets } from '../fcos/targets';
import type { AnchorTargets } from './assign';
import { freeAnchorBags } from './assign';
import { decodeBoxes } from './decode';

interface Dense {
  /** [B*N, C] */
  logits: tf.Tensor2D;
  /** [B*N, 4] linear deltas */
  deltas: tf.Tensor2D;
  /** [B*N] centerness logits */
  centerness: tf.Tensor1D;
}

function stack(targets: AnchorTargets[], numClasses: number) {
  const N = targets[0].classes.length;
  const rows = targets.length * N;
  const oneHot = new Float32Array(rows * numClasses);
  const valid = new Float32Array(rows);
  const fg = new Float32Array(rows);
  const deltas = new Float32Array(rows * 4);
  const boxes = new Float32Array(rows * 4);
  const ctr = new Float32Array(rows);
  let numFg = 0;
  let ctrSum = 0;
  targets.forEach((t, b) => {
    deltas.set(t.deltas, b * N * 4);
    boxes.set(t.boxes, b * N * 4);
    for (let n = 0; n < N; n++) {
      const k = b * N + n;
      const c = t.classes[n];
      if (c === -1) continue;
      valid[k] = 1;
      if (c >= numClasses) continue;
      oneHot[k * numClasses + c] = 1;
      fg[k] = 1;
      ctr[k] = t.centerness[n];
      numFg++;
      ctrSum += t.centerness[n];
    }
  });
  return { rows, oneHot, valid, fg, deltas, boxes, ctr, numFg: Math.max(numFg, 1), ctrSum: Math.max(ctrSum, 1e-6) };
}

/** RetinaNet: focal loss over non-ignored anchors and smooth L1 on foreground deltas, both / #fg. */
export function retinaNetLosses(d: Dense, targets: AnchorTargets[], numClasses: number, focal: FocalLossOptions, beta: number): Record<string, tf.Scalar> {
  const s = stack(targets, numClasses);
  return tf.tidy(() => {
    const cls = tf.sum(tf.mul(sigmoidFocalLoss(d.logits, tf.tensor2d(s.oneHot, [s.rows, numClasses]), focal), tf.tensor2d(s.valid, [s.rows, 1])));
    const reg = tf.sum(tf.mul(smoothL1(d.deltas, tf.tensor2d(s.deltas, [s.rows, 4]), beta), tf.tensor2d(s.fg, [s.rows, 1])));
    return { cls: tf.div(cls, s.numFg) as tf.Scalar, reg: tf.div(reg, s.numFg) as tf.Scalar };
  });
}

/** ATSS: focal / #fg, GIoU of decoded boxes weighted by centerness targets / their sum, centerness BCE / #fg. */
export function atssLosses(d: Dense, anchors: Float32Array, targets: AnchorTargets[], numClasses: number, focal: FocalLossOptions): Record<string, tf.Scalar> {
  const s = stack(targets, numClasses);
  return tf.tidy(() => {
    const B = targets.length;
    const anchorT = tf.tile(tf.tensor2d(anchors, [anchors.length / 4, 4]), [B, 1]) as tf.Tensor2D;
    const cls = tf.div(tf.sum(sigmoidFocalLoss(d.logits, tf.tensor2d(s.oneHot, [s.rows, numClasses]), focal)), s.numFg) as tf.Scalar;
    const ctrT = tf.tensor1d(s.ctr);
    const giou = xyxyGiouLoss(decodeBoxes(d.deltas, anchorT), tf.tensor2d(s.boxes, [s.rows, 4]));
    const reg = tf.div(tf.sum(tf.mul(giou, ctrT)), s.ctrSum) as tf.Scalar;
    const centerness = tf.div(tf.sum(tf.mul(bceWithLogits(d.centerness, ctrT), tf.tensor1d(s.fg))), s.numFg) as tf.Scalar;
    return { cls, reg, centerness };
  });
}

/** Identity forward, zero gradient (torch.no_grad for one sub-expression). */
const stopGradient = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as never) as (x: tf.Tensor) => tf.Tensor;

export interface FreeAnchorOptions {
  bagSize: number;
  iouThreshold: number;
  gamma: number;
  alpha: number;
  beta: number;
  /** cvpods BBOX_REG_WEIGHT */
  regWeight: number;
}

/**
 * FreeAnchor (Zhang et al. 2019, cvpods FreeAnchor.losses): per GT a bag of its `bagSize` best
 * anchors; positive bag likelihood = mean-max of cls prob x exp(-reg_weight * smoothL1) (BCE to 1,
 * / #GT, x alpha); negatives: focal-style p^gamma BCE(p, 0) on p = cls prob x (1 - P(anchor is a
 * positive)), with P from the predicted boxes' IoU with the GTs (no gradient), / (#GT x bag), x (1 - alpha).
 */
export function freeAnchorLosses(d: Dense, anchors: Float32Array, gts: ImageTargets[], numClasses: number, o: FreeAnchorOptions): Record<string, tf.Scalar> {
  const N = anchors.length / 4;
  const C = numClasses;
  return tf.tidy(() => {
    const prob = tf.sigmoid(d.logits);
    const anchorT = tf.tensor2d(anchors, [N, 4]);
    const positives: tf.Tensor[] = [];
    const negatives: tf.Tensor[] = [];
    let numGt = 0;
    gts.forEach((gt, b) => {
      const G = gt.labels.length;
      const probB = tf.slice(prob, [b * N, 0], [N, C]);
      const deltasB = tf.slice(d.deltas, [b * N, 0], [N, 4]) as tf.Tensor2D;
      if (G === 0) {
        negatives.push(tf.sum(tf.mul(tf.pow(probB, o.gamma), tf.neg(tf.log(tf.maximum(tf.sub(1, probB), 1e-12))))));
        return;
      }
      numGt += G;
      // P(anchor n is positive for class c), from IoU of predicted boxes with GTs, no gradient.
      const boxes = stopGradient(decodeBoxes(deltasB, anchorT)) as tf.Tensor2D;
      const gtT = tf.tensor2d(gt.boxes, [G, 4]);
      const iouGN = pairwiseIou(gtT, boxes);
      const t2 = tf.maximum(tf.max(iouGN, 1, true), o.iouThreshold + 1e-12);
      const objProb = tf.clipByValue(tf.div(tf.sub(iouGN, o.iouThreshold), tf.sub(t2, o.iouThreshold)), 0, 1);
      const oneHot = new Float32Array(G * C);
      gt.labels.forEach((c, g) => {
        oneHot[g * C + c] = 1;
      });
      const imageBoxProb = tf.max(tf.mul(tf.expandDims(objProb, 2), tf.reshape(tf.tensor2d(oneHot, [G, C]), [G, 1, C])), 0);
      const pNeg = tf.mul(probB, tf.sub(1, stopGradient(imageBoxProb)));
      negatives.push(tf.sum(tf.mul(tf.pow(pNeg, o.gamma), tf.neg(tf.log(tf.maximum(tf.sub(1, pNeg), 1e-12))))));
      // Positive bags.
      const { bags, deltas } = freeAnchorBags(anchors, gt, o.bagSize);
      const k = bags.length / G;
      const clsIdx = new Int32Array(G * k);
      for (let g = 0; g < G; g++) for (let j = 0; j < k; j++) clsIdx[g * k + j] = bags[g * k + j] * C + gt.labels[g];
      const matchedCls = tf.reshape(tf.gather(tf.reshape(probB, [-1]), tf.tensor1d(clsIdx, 'int32')), [G, k]);
      const matchedDeltas = tf.gather(deltasB, tf.tensor1d(bags, 'int32'));
      const l1 = tf.sum(smoothL1(matchedDeltas, tf.tensor2d(deltas, [G * k, 4]), o.beta), 1);
      const matchedBox = tf.reshape(tf.exp(tf.mul(l1, -o.regWeight)), [G, k]);
      const p = tf.mul(matchedCls, matchedBox);
      const w = tf.div(1, tf.maximum(tf.sub(1, p), 1e-12));
      const wn = tf.div(w, tf.sum(w, 1, true));
      const bag = tf.sum(tf.mul(wn, p), 1);
      positives.push(tf.sum(tf.neg(tf.log(tf.maximum(bag, 1e-12)))));
    });
    const pos = positives.length ? tf.addN(positives) : tf.scalar(0);
    const neg = tf.addN(negatives);
    const bagSize = Math.min(o.bagSize, N);
    return {
      positive: tf.mul(tf.div(pos, Math.max(1, numGt)), o.alpha) as tf.Scalar,
      negative: tf.mul(tf.div(neg, Math.max(1, numGt * bagSize)), 1 - o.alpha) as tf.Scalar,
    };
  });
}

/** IoU matrix [G, N] of corner boxes. */
function pairwiseIou(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    // Explicit tiling: tfjs's Maximum/Minimum gradients do not reduce broadcast dimensions.
    const G = a.shape[0];
    const N = b.shape[0];
    const [ax1, ay1, ax2, ay2] = tf.unstack(tf.tile(tf.expandDims(a, 1), [1, N, 1]), 2);
    const [bx1, by1, bx2, by2] = tf.unstack(tf.tile(tf.expandDims(b, 0), [G, 1, 1]), 2);
    const w = tf.relu(tf.sub(tf.minimum(ax2, bx2), tf.maximum(ax1, bx1)));
    const h = tf.relu(tf.sub(tf.minimum(ay2, by2), tf.maximum(ay1, by1)));
    const inter = tf.mul(w, h);
    const areaA = tf.mul(tf.sub(ax2, ax1), tf.sub(ay2, ay1));
    const areaB = tf.mul(tf.relu(tf.sub(bx2, bx1)), tf.relu(tf.sub(by2, by1)));
    return tf.div(inter, tf.maximum(tf.sub(tf.add(areaA, areaB), inter), 1e-12)) as tf.Tensor2D;
  });
}
