import { COCOEvaluator, type CocoJson } from '@dynhead/coco';
import { type FlopsReport, flopsReport } from '@dynhead/router';
import type { BatchSource } from '../data/batch-source';
import type { Detector } from '../model/detector';
import { type CocoResult, toCocoResults } from '../postprocess/detections';

export interface DetectorEvaluation {
  /** pycocotools' 12 stats: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl. */
  stats: number[];
  summary: string;
  flops: FlopsReport;
  results: CocoResult[];
  perCategoryAP: { categoryId: number; name: string; ap: number }[];
  images: number;
  msPerImage: number;
}

/** Runs inference over a split (batch 1, sparse head path) and scores it with COCOeval. */
export async function evaluateDetector(
  detector: Detector,
  source: BatchSource,
  gt: CocoJson,
  categoryIds: number[],
  options: { limit?: number; onImage?: (done: number, total: number) => void } = {},
): Promise<DetectorEvaluation> {
  const results: CocoResult[] = [];
  const used: number[] = [];
  const full: number[] = [];
  const total = Math.min(options.limit ?? source.samples.length, source.samples.length);
  const t0 = Date.now();
  let done = 0;
  for await (const batch of source.testBatches(1)) {
    if (done >= total) {
      batch.images.dispose();
      break;
    }
    try {
      const r = await detector.detect(batch);
      r.detections.forEach((d, b) => {
        results.push(...toCocoResults(d, batch.infos[b].imageId, categoryIds));
      });
      used.push(...r.used);
      full.push(...r.full);
    } finally {
      batch.images.dispose();
    }
    done++;
    options.onImage?.(done, total);
  }
  const ms = (Date.now() - t0) / Math.max(done, 1);
  const evalGt = total < gt.images.length ? subsetGt(gt, new Set(source.samples.slice(0, total).map((s) => s.imageId))) : gt;
  const ev = new COCOEvaluator().evaluate(evalGt, results);
  return { stats: ev.stats, summary: ev.summary, flops: flopsReport({ used, full }), results, perCategoryAP: ev.perCategoryAP, images: done, msPerImage: ms };
}

function subsetGt(gt: CocoJson, ids: Set<number>): CocoJson {
  return { ...gt, images: gt.images.filter((i) => ids.has(i.id)), annotations: gt.annotations.filter((a) => ids.has(a.image_id)) };
}
