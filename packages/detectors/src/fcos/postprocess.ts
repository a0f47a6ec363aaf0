import * as tf from '@tensorflow/tfjs-core';
import type { Detections } from '../postprocess/detections';
import { classwiseNms } from '../postprocess/nms';
import { type LevelGrid, gridPoints } from './locations';

export interface FcosTestOptions {
  numClasses: number;
  /** Candidates per level, from the flattened (location x class) scores. */
  topkCandidates: number;
  scoreThreshold: number;
  nmsThreshold: number;
  maxDetections: number;
  pointOffset: number;
}

export const fcosTestDefaults: Omit<FcosTestOptions, 'numClasses'> = {
  topkCandidates: 1000,
  scoreThreshold: 0.05,
  nmsThreshold: 0.6,
  maxDetections: 100,
  pointOffset: 0,
};

/**
 * FCOS inference for one image (cvpods FCOS.inference_single_image): per level the top-k of the
 * sigmoid class scores (k = min(topk, locations)), those above the threshold, boxes decoded from the
 * (l, t, r, b) distances, score sqrt(prob * sigmoid(centerness)); then class-wise NMS over all
 * levels and the best `maxDetections`. Maps are [1, H, W, K] for this image. Boxes are in input pixels.
 */
export async function fcosDetect(
  logits: tf.Tensor4D[],
  bboxReg: tf.Tensor4D[],
  centerness: tf.Tensor4D[],
  levels: LevelGrid[],
  options: FcosTestOptions,
): Promise<Detections> {
  const C = options.numClasses;
  const { points } = gridPoints(levels, options.pointOffset);
  const boxes: number[] = [];
  const scores: number[] = [];
  const labels: number[] = [];
  let base = 0;
  for (let l = 0; l < logits.length; l++) {
    const HW = levels[l].height * levels[l].width;
    const k = Math.min(options.topkCandidates, HW);
    const [valsT, idxT, regT, ctrT] = tf.tidy(() => {
      const probs = tf.sigmoid(tf.reshape(logits[l], [-1]));
      const { values, indices } = tf.topk(probs, k, true);
      return [values, indices, tf.reshape(bboxReg[l], [-1, 4]), tf.sigmoid(tf.reshape(centerness[l], [-1]))];
    });
    const [vals, idx, reg, ctr] = await Promise.all([valsT.data(), idxT.data(), regT.data(), ctrT.data()]);
    tf.dispose([valsT, idxT, regT, ctrT]);
    for (let i = 0; i < k; i++) {
      if (!(vals[i] > options.scoreThreshold)) continue;
      const loc = Math.floor(idx[i] / C);
      const px = points[2 * (base + loc)];
      const py = points[2 * (base + loc) + 1];
      boxes.push(px - reg[4 * loc], py - reg[4 * loc + 1], px + reg[4 * loc + 2], py + reg[4 * loc + 3]);
      scores.push(Math.sqrt(vals[i] * ctr[loc]));
      labels.push(idx[i] % C);
    }
    base += HW;
  }
  return classwiseNms(Float32Array.from(boxes), Float32Array.from(scores), Int32Array.from(labels), options.nmsThreshold, options.maxDetections);
}
