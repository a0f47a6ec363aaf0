import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate } from '../../../../test/backends';
import { mapToOriginal } from '../postprocess/nms';
import { fcosLosses } from './loss';
import { fcosDetect, fcosTestDefaults } from './postprocess';
import { assignFcosTargets } from './targets';

const base = { numClasses: 3, pointOffset: 0 };

describe('FCOS target assignment (hand-computed)', () => {
  it('picks the level by the largest distance and the smallest box, the first on ties', () => {
    const levels = [
      { height: 4, width: 4, stride: 8 },
      { height: 2, width: 2, stride: 16 },
    ];
    const boxes = Float32Array.from([2, 2, 22, 14, 0, 0, 31, 31, 2, 2, 22, 14]);
    const labels = Int32Array.from([1, 0, 2]);
    const t = assignFcosTargets(levels, { boxes, labels }, { ...base, sizesOfInterest: [[-1, 16], [16, Infinity]], centerSamplingRadius: 0 });
    // L0 (8,8) and (16,8) -> box A (area 240 < 961; box C ties with A and comes later); (16,16) -> B
    // (max distance 16 <= 16); on L1 (16,16) -> B (16 >= 16). Everything else is background (3).
    const fg = [...t.classes].map((c, n) => [n, c]).filter(([, c]) => c !== 3);
    expect(fg).toEqual([
      [5, 1],
      [6, 1],
      [10, 0],
      [19, 0],
    ]);
    expect(t.numForeground).toBe(4);
    expect([...t.ltrb.subarray(20, 24)]).toEqual([6, 6, 14, 6]);
    expect([...t.ltrb.subarray(40, 44)]).toEqual([16, 16, 15, 15]);
    expect(t.centerness[5]).toBeCloseTo(Math.sqrt(6 / 14), 6);
    expect(t.centerness[10]).toBeCloseTo(15 / 16, 6);
    expect(t.centerness[0]).toBe(0);
  });

  it('center sampling keeps only points within radius * stride of the box center', () => {
    const levels = [{ height: 8, width: 8, stride: 8 }];
    const gt = { boxes: Float32Array.from([0, 0, 64, 64]), labels: Int32Array.from([0]) };
    const opts = { ...base, sizesOfInterest: [[-1, Infinity]] as [number, number][] };
    // radius 1.5 -> center region [20, 44]^2 -> x, y in {24, 32, 40}: 9 points; without it 7 x 7.
    expect(assignFcosTargets(levels, gt, { ...opts, centerSamplingRadius: 1.5 }).numForeground).toBe(9);
    expect(assignFcosTargets(levels, gt, { ...opts, centerSamplingRadius: 0 }).numForeground).toBe(49);
  });

  it('rejects bad labels and box arrays with a clear message', () => {
    const levels = [{ height: 1, width: 1, stride: 8 }];
    const opts = { ...base, sizesOfInterest: [[-1, 64]] as [number, number][], centerSamplingRadius: 0 };
    expect(() => assignFcosTargets(levels, { boxes: Float32Array.from([0, 0, 1, 1]), labels: Int32Array.from([5]) }, opts)).toThrow(/label 5/);
    expect(() => assignFcosTargets(levels, { boxes: Float32Array.from([0, 0, 1]), labels: Int32Array.from([0]) }, opts)).toThrow(/4 per box/);
  });
});

describe.each(TEST_BACKENDS)('FCOS losses and inference on %s', (backend) => {
  it('losses equal the float64 formulas on a 1x2 map with one foreground location', async () => {
    await activate(backend);
    // Two locations, 2 classes. Location 1 is class 1 with ltrb (2, 2, 2, 4) -> centerness sqrt(1 * 0.5).
    const targets = [{ classes: Int32Array.from([2, 1]), ltrb: Float32Array.from([0, 0, 0, 0, 2, 2, 2, 4]), centerness: Float32Array.from([0, Math.SQRT1_2]), numForeground: 1 }];
    const logits = [tf.tensor4d([0.5, -1, 0, 2], [1, 1, 2, 2])];
    const reg = [tf.tensor4d([1, 1, 1, 1, 2, 2, 2, 2], [1, 1, 2, 4])];
    const ctr = [tf.tensor4d([3, 0.25], [1, 1, 2, 1])];
    const l = fcosLosses({ logits, bboxReg: reg, centerness: ctr }, targets, { numClasses: 2, focal: { alpha: 0.25, gamma: 2 }, iouLossType: 'giou' });
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const fl = (x: number, t: number) => {
      const p = sig(x);
      const pt = t ? p : 1 - p;
      return (t ? 0.25 : 0.75) * (1 - pt) ** 2 * (Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x))));
    };
    const cls = fl(0.5, 0) + fl(-1, 0) + fl(0, 0) + fl(2, 1);
    // pred box 4x4 inside the 4x6 target: IoU 16/24, hull = target -> GIoU loss 1/3, weighted by c / c.
    const c = Math.SQRT1_2;
    const bce = Math.max(0.25, 0) - 0.25 * c + Math.log1p(Math.exp(-0.25));
    expect(await l.cls.data()).toHaveLength(1);
    expect((await l.cls.data())[0]).toBeCloseTo(cls, 5);
    expect((await l.reg.data())[0]).toBeCloseTo(1 / 3, 5);
    expect((await l.centerness.data())[0]).toBeCloseTo(bce, 5);
  });

  it('inference: top-k, threshold, sqrt score, class-wise NMS, mapping back', async () => {
    await activate(backend);
    const levels = [{ height: 1, width: 3, stride: 8 }];
    const logit = (p: number) => Math.log(p / (1 - p));
    // Locations at x = 0, 8, 16 (y = 0). Class probabilities [c0, c1] per location.
    const probs = [0.9, 0.01, 0.8, 0.7, 0.02, 0.03];
    const logits = [tf.tensor4d(probs.map(logit), [1, 1, 3, 2])];
    // Boxes: loc0 [-10,-10,10,10], loc1 [-2,-10,18,10] (IoU with loc0 = 240/560 < 0.6... ) loc2 tiny.
    const reg = [tf.tensor4d([10, 10, 10, 10, 10, 10, 10, 10, 1, 1, 1, 1], [1, 1, 3, 4])];
    const ctr = [tf.tensor4d([logit(0.64), logit(0.25), logit(0.5)], [1, 1, 3, 1])];
    const dets = await fcosDetect(logits, reg, ctr, levels, { ...fcosTestDefaults, numClasses: 2, nmsThreshold: 0.3 });
    // Candidates above 0.05: (loc0,c0) 0.9, (loc1,c0) 0.8, (loc1,c1) 0.7. Scores sqrt(p * ctr):
    // 0.9*0.64 -> 0.758947, 0.8*0.25 -> 0.447214, 0.7*0.25 -> 0.418330. loc0/loc1 boxes overlap with
    // IoU (12*20)/(2*400-240) = 0.4286 > 0.3: class 0's loc1 is suppressed, class 1's is kept.
    expect([...dets.labels]).toEqual([0, 1]);
    expect(dets.scores[0]).toBeCloseTo(Math.sqrt(0.9 * 0.64), 5);
    expect(dets.scores[1]).toBeCloseTo(Math.sqrt(0.7 * 0.25), 5);
    expect([...dets.boxes]).toEqual([-10, -10, 10, 10, -2, -10, 18, 10]);
    const mapped = mapToOriginal(dets, 0.5, 0.25, 30, 30);
    expect([...mapped.boxes]).toEqual([0, 0, 20, 30, 0, 0, 30, 30]);
    const top1 = await fcosDetect(logits, reg, ctr, levels, { ...fcosTestDefaults, numClasses: 2, topkCandidates: 1 });
    expect([...top1.scores].map((s) => Number(s.toFixed(5)))).toEqual([Number(Math.sqrt(0.9 * 0.64).toFixed(5))]);
  });
});
