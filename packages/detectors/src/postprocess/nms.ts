import * as tf from '@tensorflow/tfjs-core';
import type { Detections } from './detections';

/**
 * Class-wise NMS (torchvision's batched_nms trick: boxes of different classes are moved apart by
 * class * (max coordinate + 1) so one NMS never suppresses across classes), through tfjs's async NMS,
 * which works on every backend. Returns the kept detections best first, at most `maxDetections`.
 */
export async function classwiseNms(
  boxes: Float32Array,
  scores: Float32Array,
  labels: Int32Array,
  iouThreshold: number,
  maxDetections: number,
): Promise<Detections> {
  const K = scores.length;
  if (K === 0) return { boxes: new Float32Array(0), scores: new Float32Array(0), labels: new Int32Array(0) };
  let maxCoord = 0;
  for (const v of boxes) maxCoord = Math.max(maxCoord, v);
  const shifted = new Float32Array(K * 4);
  for (let k = 0; k < K; k++) {
    const off = labels[k] * (maxCoord + 1);
    // tfjs wants [y1, x1, y2, x2].
    shifted[4 * k] = boxes[4 * k + 1] + off;
    shifted[4 * k + 1] = boxes[4 * k] + off;
    shifted[4 * k + 2] = boxes[4 * k + 3] + off;
    shifted[4 * k + 3] = boxes[4 * k + 2] + off;
  }
  const boxesT = tf.tensor2d(shifted, [K, 4]);
  const scoresT = tf.tensor1d(scores);
  const keepT = await tf.image.nonMaxSuppressionAsync(boxesT, scoresT, maxDetections, iouThreshold, Number.NEGATIVE_INFINITY);
  const keep = await keepT.data();
  tf.dispose([boxesT, scoresT, keepT]);
  const out: Detections = { boxes: new Float32Array(keep.length * 4), scores: new Float32Array(keep.length), labels: new Int32Array(keep.length) };
  keep.forEach((k, i) => {
    out.boxes.set(boxes.subarray(4 * k, 4 * k + 4), 4 * i);
    out.scores[i] = scores[k];
    out.labels[i] = labels[k];
  });
  return out;
}

/** Boxes from the network input back to the original image: divide by the resize scale, clip. */
export function mapToOriginal(dets: Detections, scaleX: number, scaleY: number, width: number, height: number): Detections {
  const boxes = new Float32Array(dets.boxes.length);
  for (let k = 0; k < dets.scores.length; k++) {
    boxes[4 * k] = Math.min(Math.max(dets.boxes[4 * k] / scaleX, 0), width);
    boxes[4 * k + 1] = Math.min(Math.max(dets.boxes[4 * k + 1] / scaleY, 0), height);
    boxes[4 * k + 2] = Math.min(Math.max(dets.boxes[4 * k + 2] / scaleX, 0), width);
    boxes[4 * k + 3] = Math.min(Math.max(dets.boxes[4 * k + 3] / scaleY, 0), height);
  }
  return { boxes, scores: dets.scores, labels: dets.labels };
}
