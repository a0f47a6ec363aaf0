import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COCOEvaluator, CocoFormatError, type CocoJson, defaultEvalParams, formatSummary, numpyLinspace, pythonFixed } from '../index';
import { COCOEVAL_CASES } from '../test-support/shared';

interface Case {
  kind: string;
  gt: CocoJson;
  detections: {
    image_id: number;
    category_id: number;
    bbox: [number, number, number, number];
    score: number;
  }[];
  stats: number[];
}

const cases = readdirSync(COCOEVAL_CASES)
  .filter((f) => f.endsWith('.json'))
  .sort();
const load = (f: string): Case => JSON.parse(readFileSync(`${COCOEVAL_CASES}${f}`, 'utf8'));

describe('COCOEvaluator against pycocotools', () => {
  it('finds all eight shared cases', () => {
    expect(cases).toHaveLength(8);
  });

  it.each(cases)('%s: the 12 stats within 1e-9 of pycocotools', (file) => {
    const c = load(file);
    const { stats } = new COCOEvaluator().evaluate(c.gt, c.detections);
    expect(stats).toHaveLength(12);
    stats.forEach((s, i) => {
      expect(Math.abs(s - c.stats[i]), `stat ${i}: ${s} vs ${c.stats[i]}`).toBeLessThan(1e-9);
    });
  });

  it('builds the thresholds the numpy way', () => {
    expect(defaultEvalParams.iouThrs[8]).toBe(0.8999999999999999);
    expect(defaultEvalParams.iouThrs[9]).toBe(0.95);
    expect(defaultEvalParams.iouThrs[5]).toBe(0.75);
    expect(defaultEvalParams.recThrs[35]).toBe(0.35000000000000003);
    expect(defaultEvalParams.recThrs).toHaveLength(101);
    expect(numpyLinspace(0, 1, 3)).toEqual([0, 0.5, 1]);
  });

  it('per-category AP and precision/recall arrays have pycocotools shapes and means', () => {
    const c = load('case-edge.json');
    const r = new COCOEvaluator().evaluate(c.gt, c.detections);
    expect(r.precision.shape).toEqual([10, 101, 3, 4, 3]);
    expect(r.recall.shape).toEqual([10, 3, 4, 3]);
    // The overall AP is the mean over categories with GT of each category's AP (every category has GT here).
    const aps = r.perCategoryAP.map((p) => p.ap);
    expect(r.perCategoryAP.map((p) => p.categoryId)).toEqual([1, 2, 3]);
    expect(aps[2]).toBe(-1); // category 3 has no GT
    const valid = aps.filter((a) => a > -1);
    expect(Math.abs(valid.reduce((s, a) => s + a, 0) / valid.length - c.stats[0])).toBeLessThan(1e-12);
  });

  it('hand-computed: one perfect and one missed GT give AP 0.5-ish and recall 0.5', () => {
    const gt: CocoJson = {
      images: [{ id: 7, width: 100, height: 100, file_name: 'a.jpg' }],
      categories: [{ id: 3, name: 'x' }],
      annotations: [
        {
          id: 1,
          image_id: 7,
          category_id: 3,
          bbox: [0, 0, 10, 10],
          area: 100,
          iscrowd: 0,
        },
        {
          id: 2,
          image_id: 7,
          category_id: 3,
          bbox: [50, 50, 10, 10],
          area: 100,
          iscrowd: 0,
        },
      ],
    };
    const r = new COCOEvaluator().evaluate(gt, [{ image_id: 7, category_id: 3, bbox: [0, 0, 10, 10], score: 0.9 }]);
    // Precision 1 up to recall 0.5: recall points 0..0.5 (51 of 101) -> AP = 51/101.
    expect(r.stats[0]).toBeCloseTo(51 / 101, 12);
    expect(r.stats[8]).toBe(0.5);
    expect(r.stats[9]).toBe(0.5); // area 100 is small
    expect(r.stats[10]).toBe(-1);
  });

  it('detections of categories outside the GT are never evaluated', () => {
    const c = load('case-edge.json');
    const extra = c.detections.map((d) => ({ ...d, category_id: 99, score: 0.999 }));
    const { stats } = new COCOEvaluator().evaluate(c.gt, [...extra, ...c.detections]);
    stats.forEach((s, i) => {
      expect(Math.abs(s - c.stats[i])).toBeLessThan(1e-9);
    });
  });

  it('a GT whose id is 0 never counts as matched, as in pycocotools (dtMatches stores GT ids, 0 = none)', () => {
    const gt: CocoJson = {
      images: [{ id: 1, width: 100, height: 100, file_name: 'a.jpg' }],
      categories: [{ id: 1, name: 'x' }],
      annotations: [{ id: 0, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 }],
    };
    const det = [{ image_id: 1, category_id: 1, bbox: [0, 0, 10, 10] as [number, number, number, number], score: 0.9 }];
    expect(new COCOEvaluator().evaluate(gt, det).stats.slice(0, 3)).toEqual([0, 0, 0]);
    gt.annotations[0].id = 5;
    // 1 / (1 + numpy's spacing(1)): pycocotools' own rounding of a perfect match.
    for (const v of new COCOEvaluator().evaluate(gt, det).stats.slice(0, 3)) expect(v).toBeCloseTo(1, 14);
  });

  it('an empty detection list scores 0 where there is GT', () => {
    const c = load('case-edge.json');
    const { stats } = new COCOEvaluator().evaluate(c.gt, []);
    expect(stats.slice(0, 3)).toEqual([0, 0, 0]);
    expect(stats[8]).toBe(0);
  });

  it('refuses detections on unknown images and malformed boxes, naming each entry', () => {
    const c = load('case-edge.json');
    const bad = [
      { image_id: 99, category_id: 1, bbox: [0, 0, 1, 1], score: 0.5 },
      { image_id: 1, category_id: 1, bbox: [0, 0, 1], score: 0.5 },
      { image_id: 1, category_id: 1, bbox: [0, 0, -1, 2], score: 0.5 },
      { image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] },
    ] as never[];
    let err: unknown;
    try {
      new COCOEvaluator().evaluate(c.gt, bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CocoFormatError);
    const paths = (err as CocoFormatError).problems.map((p) => p.path);
    expect(paths).toEqual(['[0].image_id', '[1].bbox', '[2].bbox', '[3]']);
    expect((err as Error).message).toMatch(/image id 99 is not in the ground truth/);
  });

  it('prints the summary like pycocotools', () => {
    const c = load('case-thresholds.json');
    const lines = formatSummary(c.stats, defaultEvalParams).split('\n');
    expect(lines).toHaveLength(12);
    expect(lines[0]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.633');
    expect(lines[1]).toBe(' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.650');
    expect(lines[4]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000');
    expect(lines[6]).toBe(' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.050');
    // Python rounds exact ties to even.
    expect(pythonFixed(0.0625, 3)).toBe('0.062');
    expect(pythonFixed(0.1875, 3)).toBe('0.188');
    expect(pythonFixed(-1, 3)).toBe('-1.000');
  });
});
