// Per (image, category, area range) matching: pycocotools' COCOeval.evaluateImg.

import { bboxIou } from './iou';

export interface EvalGt {
  id: number;
  bbox: ArrayLike<number>;
  area: number;
  /** pycocotools sets `ignore` from iscrowd alone. */
  iscrowd: number;
}

export interface EvalDt {
  /** 1..N in results-file order, as loadRes numbers them. */
  id: number;
  bbox: ArrayLike<number>;
  /** w * h of the bbox. */
  area: number;
  score: number;
}

/** The detections of one (image, category), score-sorted and capped, with their IoUs to the GTs (file order). */
export interface ImageCategoryPair {
  gts: EvalGt[];
  dts: EvalDt[];
  /** [dts.length x gts.length] */
  ious: Float64Array;
}

export interface ImageEval {
  /** Scores of the kept detections, descending. */
  dtScores: Float64Array;
  /** [T x D]: id of the matched GT, 0 when unmatched (a GT whose id is 0 therefore counts as unmatched, as in pycocotools). */
  dtMatches: Float64Array;
  /** [T x D] */
  dtIgnore: Uint8Array;
  /** [G] in the sorted GT order. */
  gtIgnore: Uint8Array;
}

/** Descending score, ties in input order (numpy's mergesort is stable, so is Array.prototype.sort). */
export function sortByScore<T extends { score: number }>(dts: readonly T[]): T[] {
  return [...dts].sort((a, b) => b.score - a.score);
}

/** computeIoU: sort detections by score, keep the first maxDet, IoU against the GTs in file order. */
export function pairImageCategory(gts: EvalGt[], dts: EvalDt[], maxDet: number): ImageCategoryPair {
  const kept = sortByScore(dts).slice(0, maxDet);
  const ious = bboxIou(
    kept.map((d) => d.bbox),
    gts.map((g) => g.bbox),
    gts.map((g) => g.iscrowd),
  );
  return { gts, dts: kept, ious };
}

/** evaluateImg for one area range; null when the pair has neither GTs nor detections. */
export function evaluateImage(pair: ImageCategoryPair, areaRng: [number, number], maxDet: number, iouThrs: number[]): ImageEval | null {
  const { gts, ious } = pair;
  const G = gts.length;
  if (G === 0 && pair.dts.length === 0) return null;

  const outside = (area: number) => area < areaRng[0] || area > areaRng[1];
  const gtIgnoreFile = gts.map((g) => (g.iscrowd !== 0 || outside(g.area) ? 1 : 0));
  // Non-ignored GTs first, stable.
  const gtOrder = gts.map((_, i) => i).sort((a, b) => gtIgnoreFile[a] - gtIgnoreFile[b]);
  const gtIgnore = Uint8Array.from(gtOrder, (i) => gtIgnoreFile[i]);
  const gtIds = gtOrder.map((i) => gts[i].id);
  const gtCrowd = gtOrder.map((i) => gts[i].iscrowd !== 0);

  const dts = pair.dts.slice(0, maxDet);
  const D = dts.length;
  const T = iouThrs.length;
  const dtMatches = new Float64Array(T * D);
  const dtIgnore = new Uint8Array(T * D);
  const gtMatches = new Float64Array(T * G);

  if (G > 0 && D > 0) {
    for (let t = 0; t < T; t++) {
      for (let d = 0; d < D; d++) {
        let best = Math.min(iouThrs[t], 1 - 1e-10);
        let m = -1;
        for (let g = 0; g < G; g++) {
          if (gtMatches[t * G + g] > 0 && !gtCrowd[g]) continue;
          // GTs are sorted non-ignored first: once matched to a real GT, stop at the first ignored one.
          if (m > -1 && gtIgnore[m] === 0 && gtIgnore[g] === 1) break;
          const iou = ious[d * G + gtOrder[g]];
          if (iou < best) continue;
          best = iou;
          m = g;
        }
        if (m === -1) continue;
        dtIgnore[t * D + d] = gtIgnore[m];
        dtMatches[t * D + d] = gtIds[m];
        gtMatches[t * G + m] = dts[d].id;
      }
    }
  }
  // Unmatched detections outside the area range are ignored.
  for (let d = 0; d < D; d++) {
    if (!outside(dts[d].area)) continue;
    for (let t = 0; t < T; t++) if (dtMatches[t * D + d] === 0) dtIgnore[t * D + d] = 1;
  }
  return {
    dtScores: Float64Array.from(dts, (d) => d.score),
    dtMatches,
    dtIgnore,
    gtIgnore,
  };
}
