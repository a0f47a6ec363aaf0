// pycocotools' COCOeval.accumulate: precision / recall arrays from the per-image matches.

import type { ImageEval } from './evaluate-image';
import type { EvalParams } from './params';

/** numpy.spacing(1): pr = tp / (tp + fp + eps). */
const EPS = 2.220446049250313e-16;

/** A float64 array with its dimensions, row-major (numpy layout). */
export interface NdArray {
  data: Float64Array;
  shape: number[];
}

export interface Accumulated {
  /** [T, R, K, A, M]; -1 where a category has no GT in that area range. */
  precision: NdArray;
  /** [T, K, A, M] */
  recall: NdArray;
  /** [T, R, K, A, M]: score at each recall point. */
  scores: NdArray;
}

/**
 * @param evalImgs ordered category-major, then area range, then image (pycocotools' evalImgs order),
 *   null where an (image, category) has neither GTs nor detections.
 */
export function accumulate(evalImgs: (ImageEval | null)[], numCategories: number, numImages: number, params: EvalParams): Accumulated {
  const T = params.iouThrs.length;
  const R = params.recThrs.length;
  const K = numCategories;
  const A = params.areaRng.length;
  const M = params.maxDets.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);
  const pIndex = (t: number, r: number, k: number, a: number, m: number) => (((t * R + r) * K + k) * A + a) * M + m;
  const rIndex = (t: number, k: number, a: number, m: number) => ((t * K + k) * A + a) * M + m;

  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      const E: ImageEval[] = [];
      for (let i = 0; i < numImages; i++) {
        const e = evalImgs[(k * A + a) * numImages + i];
        if (e) E.push(e);
      }
      if (E.length === 0) continue;
      let npig = 0;
      for (const e of E) for (const ig of e.gtIgnore) if (ig === 0) npig++;

      for (let m = 0; m < M; m++) {
        const maxDet = params.maxDets[m];
        // Each image's first maxDet detections, concatenated in image order, then stable-sorted by score.
        const entries: { score: number; e: ImageEval; d: number; D: number }[] = [];
        for (const e of E) {
          const D = e.dtScores.length;
          const n = Math.min(maxDet, D);
          for (let d = 0; d < n; d++) entries.push({ score: e.dtScores[d], e, d, D });
        }
        if (npig === 0) continue;
        entries.sort((x, y) => y.score - x.score);
        const nd = entries.length;

        for (let t = 0; t < T; t++) {
          const rc = new Float64Array(nd);
          const pr = new Float64Array(nd);
          let tp = 0;
          let fp = 0;
          for (let j = 0; j < nd; j++) {
            const { e, d, D } = entries[j];
            if (e.dtIgnore[t * D + d] === 0) {
              if (e.dtMatches[t * D + d] !== 0) tp++;
              else fp++;
            }
            rc[j] = tp / npig;
            pr[j] = tp / (fp + tp + EPS);
          }
          recall[rIndex(t, k, a, m)] = nd ? rc[nd - 1] : 0;
          // Precision envelope: non-increasing from the right.
          for (let j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          // searchsorted(rc, recThrs, 'left'); recall points past the last detection keep precision 0.
          let j = 0;
          for (let r = 0; r < R; r++) {
            const thr = params.recThrs[r];
            while (j < nd && rc[j] < thr) j++;
            const at = pIndex(t, r, k, a, m);
            if (j < nd) {
              precision[at] = pr[j];
              scores[at] = entries[j].score;
            } else {
              precision[at] = 0;
              scores[at] = 0;
            }
          }
        }
      }
    }
  }
  return {
    precision: { data: precision, shape: [T, R, K, A, M] },
    recall: { data: recall, shape: [T, K, A, M] },
    scores: { data: scores, shape: [T, R, K, A, M] },
  };
}
