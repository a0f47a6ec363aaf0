// COCOEvaluator: pycocotools' COCOeval (iouType 'bbox', default parameters) end to end.

import { CocoFormatError } from '../errors';
import { checkDetections } from '../results';
import type { CocoDetection, CocoJson } from '../types';
import { type Accumulated, type NdArray, accumulate } from './accumulate';
import { type EvalDt, type EvalGt, type ImageCategoryPair, type ImageEval, evaluateImage, pairImageCategory } from './evaluate-image';
import { type EvalParams, defaultEvalParams } from './params';
import { categoryAP, formatSummary, summarize } from './summarize';

export interface CategoryAP {
  categoryId: number;
  name: string;
  /** AP@[.5:.95]; -1 when the category has no GT. */
  ap: number;
}

export interface EvalResult {
  /** [AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl] */
  stats: number[];
  /** [T, R, K, A, M] as pycocotools' eval['precision'] (K in sorted category-id order). */
  precision: NdArray;
  /** [T, K, A, M] */
  recall: NdArray;
  scores: NdArray;
  perCategoryAP: CategoryAP[];
  imageIds: number[];
  categoryIds: number[];
  params: EvalParams;
  /** The 12 lines pycocotools prints. */
  summary: string;
}

/** Anything that carries COCO ground truth: the parsed JSON or a CocoDataset. */
export type GroundTruth = CocoJson | { readonly json: CocoJson };

const gtJson = (gt: GroundTruth): CocoJson => ('json' in gt ? gt.json : gt);
const sortedUnique = (xs: Iterable<number>) => [...new Set(xs)].sort((a, b) => a - b);

export class COCOEvaluator {
  readonly params: EvalParams;

  constructor(params: Partial<EvalParams> = {}) {
    this.params = { ...defaultEvalParams, ...params };
  }

  /**
   * Evaluates bbox detections against the ground truth. Detections on images outside the GT are refused
   * (CocoFormatError listing each); detections of categories outside the GT are never evaluated; an
   * empty list is allowed and scores 0 wherever there is GT.
   */
  evaluate(gt: GroundTruth, detections: readonly CocoDetection[]): EvalResult {
    const json = gtJson(gt);
    const problems = checkDetections(detections, json);
    if (problems.length) throw new CocoFormatError(problems, 'detections');

    const p = this.params;
    const imageIds = sortedUnique(json.images.map((im) => im.id));
    const categoryIds = sortedUnique(json.categories.map((c) => c.id));
    const imageIndex = new Map(imageIds.map((id, i) => [id, i]));
    const categoryIndex = new Map(categoryIds.map((id, k) => [id, k]));
    const I = imageIds.length;
    const K = categoryIds.length;

    // Group by (category, image) keeping file order, as pycocotools' _prepare does.
    const gts: EvalGt[][] = Array.from({ length: K * I }, () => []);
    const dts: EvalDt[][] = Array.from({ length: K * I }, () => []);
    for (const a of json.annotations) {
      const i = imageIndex.get(a.image_id);
      const k = categoryIndex.get(a.category_id);
      if (i === undefined || k === undefined) continue;
      gts[k * I + i].push({
        id: a.id,
        bbox: a.bbox,
        area: a.area,
        iscrowd: a.iscrowd ? 1 : 0,
      });
    }
    detections.forEach((d, n) => {
      const i = imageIndex.get(d.image_id);
      const k = categoryIndex.get(d.category_id);
      if (i === undefined || k === undefined) return;
      dts[k * I + i].push({
        id: n + 1,
        bbox: d.bbox,
        area: d.bbox[2] * d.bbox[3],
        score: d.score,
      });
    });

    const maxDet = p.maxDets[p.maxDets.length - 1];
    const A = p.areaRng.length;
    const evalImgs: (ImageEval | null)[] = new Array(K * A * I).fill(null);
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < I; i++) {
        const g = gts[k * I + i];
        const d = dts[k * I + i];
        if (g.length === 0 && d.length === 0) continue;
        const pair: ImageCategoryPair = pairImageCategory(g, d, maxDet);
        for (let a = 0; a < A; a++) evalImgs[(k * A + a) * I + i] = evaluateImage(pair, p.areaRng[a], maxDet, p.iouThrs);
      }
    }

    const acc: Accumulated = accumulate(evalImgs, K, I, p);
    const stats = summarize(acc, p);
    const names = new Map(json.categories.map((c) => [c.id, c.name]));
    const perCategoryAP = categoryIds.map((id, k) => ({
      categoryId: id,
      name: names.get(id) ?? String(id),
      ap: categoryAP(acc, p, k),
    }));
    return {
      stats,
      ...acc,
      perCategoryAP,
      imageIds,
      categoryIds,
      params: p,
      summary: formatSummary(stats, p),
    };
  }
}

/** One-call form of COCOEvaluator.evaluate with default parameters. */
export function evaluateDetections(gt: GroundTruth, detections: readonly CocoDetection[]): EvalResult {
  return new COCOEvaluator().evaluate(gt, detections);
}
