import * as tf from '@tensorflow/tfjs-core';
import type { Detections } from '../postprocess/detections';
import { classwiseNms } from '../postprocess/nms';
import { SCALE_CLAMP } from './anchors';

export interface AnchorTestOptions {
  numClasses: number;
  topkCandidates: number;
  scoreThreshold: number;
  nmsThreshold: number;
  maxDetections: number;
  /** ATSS: score = sqrt(prob * sigmoid(centerness)). */
  useCenterness: boolean;
}

/**
 * Anchor-detector inference for one image: per level the top-k (location x class) probabilities
 * above the threshold, boxes decoded from the deltas (linear outputs [1,H,W,4]) and the level's
 * anchors, class-wise NMS over all levels, best `maxDetections`.
 */
export async function anchorDetect(
  logits: tf.Tensor4D[],
  deltas: tf.Tensor4D[],
  centerness: tf.Tensor4D[],
  anchors: Float32Array,
  o: AnchorTestOptions,
): Promise<Detections> {
  const C = o.numClasses;
  const boxes: number[] = [];
  const scores: number[] = [];
  const labels: number[] = [];
  let base = 0;
  for (let l = 0; l < logits.length; l++) {
    const HW = logits[l].shape[1] * logits[l].shape[2];
    const k = Math.min(o.topkCandidates, HW);
    const [valsT, idxT, regT, ctrT] = tf.tidy(() => {
      const { values, indices } = tf.topk(tf.sigmoid(tf.reshape(logits[l], [-1])), k, true);
      return [values, indices, tf.reshape(deltas[l], [-1, 4]), tf.sigmoid(tf.reshape(centerness[l], [-1]))];
    });
    const [vals, idx, reg, ctr] = await Promise.all([valsT.data(), idxT.data(), regT.data(), ctrT.data()]);
    tf.dispose([valsT, idxT, regT, ctrT]);
    for (let i = 0; i < k; i++) {
      if (!(vals[i] > o.scoreThreshold)) continue;
      const loc = Math.floor(idx[i] / C);
      const a = 4 * (base + loc);
      const aw = anchors[a + 2] - anchors[a];
      const ah = anchors[a + 3] - anchors[a + 1];
      const cx = anchors[a] + aw / 2 + reg[4 * loc] * aw;
      const cy = anchors[a + 1] + ah / 2 + reg[4 * loc + 1] * ah;
      const w = Math.exp(Math.min(reg[4 * loc + 2], SCALE_CLAMP)) * aw;
      const h = Math.exp(Math.min(reg[4 * loc + 3], SCALE_CLAMP)) * ah;
      boxes.push(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
      scores.push(o.useCenterness ? Math.sqrt(vals[i] * ctr[loc]) : vals[i]);
      labels.push(idx[i] % C);
    }
    base += HW;
  }
  return classwiseNms(Float32Array.from(boxes), Float32Array.from(scores), Int32Array.from(labels), o.nmsThreshold, o.maxDetections);
}
