import type { ImageTargets } from '../fcos/targets';
import { encodeDeltas, iou } from './anchors';

/** Per-anchor targets of one image. */
export interface AnchorTargets {
  /** [N] class label; numClasses = background; -1 = ignored (RetinaNet's 0.4-0.5 band). */
  classes: Int32Array;
  /** [N * 4] Box2BoxTransform deltas to the matched box (0 for background). */
  deltas: Float32Array;
  /** [N * 4] matched GT corners (0 for background). */
  boxes: Float32Array;
  /** [N] centerness of the anchor centre in its matched box (ATSS), 0 for background. */
  centerness: Float32Array;
  numForeground: number;
}

function emptyTargets(N: number, numClasses: number): AnchorTargets {
  return { classes: new Int32Array(N).fill(numClasses), deltas: new Float32Array(N * 4), boxes: new Float32Array(N * 4), centerness: new Float32Array(N), numForeground: 0 };
}

function fill(t: AnchorTargets, anchors: Float32Array, gt: ImageTargets, n: number, g: number): void {
  t.classes[n] = gt.labels[g];
  encodeDeltas(anchors, 4 * n, gt.boxes, 4 * g, t.deltas, 4 * n);
  t.boxes.set(gt.boxes.subarray(4 * g, 4 * g + 4), 4 * n);
  const cx = (anchors[4 * n] + anchors[4 * n + 2]) / 2;
  const cy = (anchors[4 * n + 1] + anchors[4 * n + 3]) / 2;
  const l = cx - gt.boxes[4 * g];
  const tt = cy - gt.boxes[4 * g + 1];
  const r = gt.boxes[4 * g + 2] - cx;
  const b = gt.boxes[4 * g + 3] - cy;
  t.centerness[n] = l > 0 && tt > 0 && r > 0 && b > 0 ? Math.sqrt((Math.min(l, r) / Math.max(l, r)) * (Math.min(tt, b) / Math.max(tt, b))) : 0;
  t.numForeground++;
}

/**
 * RetinaNet matching (Detectron2 Matcher, thresholds [0.4, 0.5], low-quality matches allowed):
 * IoU >= 0.5 foreground, < 0.4 background, between ignored; each GT's best anchors are foreground too.
 */
export function assignRetinaNet(anchors: Float32Array, gt: ImageTargets, numClasses: number, thresholds: [number, number]): AnchorTargets {
  const N = anchors.length / 4;
  const G = gt.labels.length;
  const t = emptyTargets(N, numClasses);
  if (G === 0) return t;
  const best = new Int32Array(N);
  const bestIou = new Float64Array(N).fill(-1);
  const gtBest = new Float64Array(G).fill(-1);
  const ious = new Float64Array(N * G);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const v = iou(anchors, 4 * n, gt.boxes, 4 * g);
      ious[n * G + g] = v;
      if (v > bestIou[n]) {
        bestIou[n] = v;
        best[n] = g;
      }
      if (v > gtBest[g]) gtBest[g] = v;
    }
  }
  const [lo, hi] = thresholds;
  for (let n = 0; n < N; n++) {
    let fg = bestIou[n] >= hi;
    if (!fg) for (let g = 0; g < G; g++) if (gtBest[g] > 0 && ious[n * G + g] === gtBest[g]) fg = true;
    if (fg) fill(t, anchors, gt, n, best[n]);
    else if (bestIou[n] >= lo) t.classes[n] = -1;
  }
  return t;
}

/**
 * ATSS (Zhang et al. 2020): per GT, the `topk` anchors per level nearest to its centre are candidates;
 * those with IoU >= mean + std (unbiased) of the candidates' IoUs and centre inside the GT are
 * positives; an anchor claimed by several GTs goes to the one of highest IoU.
 */
export function assignAtss(anchors: Float32Array, levelOf: Int32Array, numLevels: number, gt: ImageTargets, numClasses: number, topk: number): AnchorTargets {
  const N = anchors.length / 4;
  const G = gt.labels.length;
  const t = emptyTargets(N, numClasses);
  const claim = new Float64Array(N).fill(Number.NEGATIVE_INFINITY);
  const owner = new Int32Array(N).fill(-1);
  const byLevel: number[][] = Array.from({ length: numLevels }, () => []);
  for (let n = 0; n < N; n++) byLevel[levelOf[n]].push(n);
  for (let g = 0; g < G; g++) {
    const [x1, y1, x2, y2] = gt.boxes.subarray(4 * g, 4 * g + 4);
    const gx = (x1 + x2) / 2;
    const gy = (y1 + y2) / 2;
    const candidates: number[] = [];
    for (const ids of byLevel) {
      const d = ids.map((n) => {
        const ax = (anchors[4 * n] + anchors[4 * n + 2]) / 2;
        const ay = (anchors[4 * n + 1] + anchors[4 * n + 3]) / 2;
        return [Math.hypot(ax - gx, ay - gy), n];
      });
      d.sort((a, b) => a[0] - b[0]);
      for (const [, n] of d.slice(0, Math.min(topk, d.length))) candidates.push(n);
    }
    const cIou = candidates.map((n) => iou(anchors, 4 * n, gt.boxes, 4 * g));
    const mean = cIou.reduce((a, b) => a + b, 0) / cIou.length;
    const std = cIou.length > 1 ? Math.sqrt(cIou.reduce((a, b) => a + (b - mean) ** 2, 0) / (cIou.length - 1)) : 0;
    const thr = mean + std;
    candidates.forEach((n, k) => {
      const ax = (anchors[4 * n] + anchors[4 * n + 2]) / 2;
      const ay = (anchors[4 * n + 1] + anchors[4 * n + 3]) / 2;
      const inside = Math.min(ax - x1, ay - y1, x2 - ax, y2 - ay) > 0.01;
      if (cIou[k] >= thr && inside && cIou[k] > claim[n]) {
        claim[n] = cIou[k];
        owner[n] = g;
      }
    });
  }
  for (let n = 0; n < N; n++) if (owner[n] >= 0) fill(t, anchors, gt, n, owner[n]);
  return t;
}

/** FreeAnchor's bags: per GT the `bagSize` anchors of highest IoU with it (ties by anchor order). */
export function freeAnchorBags(anchors: Float32Array, gt: ImageTargets, bagSize: number): { bags: Int32Array; deltas: Float32Array } {
  const N = anchors.length / 4;
  const G = gt.labels.length;
  const k = Math.min(bagSize, N);
  const bags = new Int32Array(G * k);
  const deltas = new Float32Array(G * k * 4);
  for (let g = 0; g < G; g++) {
    const order = Array.from({ length: N }, (_, n) => [iou(anchors, 4 * n, gt.boxes, 4 * g), n]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (let j = 0; j < k; j++) {
      const n = order[j][1];
      bags[g * k + j] = n;
      encodeDeltas(anchors, 4 * n, gt.boxes, 4 * g, deltas, 4 * (g * k + j));
    }
  }
  return { bags, deltas };
}
