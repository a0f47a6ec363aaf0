import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate } from '../../../../test/backends';
import { encodeDeltas } from './anchors';
import { assignAtss, assignRetinaNet } from './assign';
import { decodeBoxes } from './decode';
import { freeAnchorLosses, retinaNetLosses } from './loss';

const gtOf = (boxes: number[], labels: number[]) => ({ boxes: Float32Array.from(boxes), labels: Int32Array.from(labels) });

describe('anchor assignment (hand-computed)', () => {
  it('Box2BoxTransform deltas', () => {
    const out = new Float32Array(4);
    encodeDeltas([0, 0, 10, 10], 0, [5, 5, 25, 15], 0, out, 0);
    expect(out[0]).toBeCloseTo(1, 6);
    expect(out[1]).toBeCloseTo(0.5, 6);
    expect(out[2]).toBeCloseTo(Math.LN2, 6);
    expect(out[3]).toBeCloseTo(0, 6);
  });

  it('RetinaNet: IoU >= 0.5 foreground, [0.4, 0.5) ignored, below background, each GT keeps its best anchor', () => {
    // IoUs with GT0 [0,0,10,10]: 1, 0.5, 0.4545, 0; a4 is GT1's best anchor at IoU 0.0625.
    const anchors = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 20, 0, 0, 10, 22, 20, 20, 30, 30, 100, 100, 110, 110]);
    const t = assignRetinaNet(anchors, gtOf([0, 0, 10, 10, 100, 100, 140, 140], [2, 1]), 3, [0.4, 0.5]);
    expect([...t.classes]).toEqual([2, 2, -1, 3, 1]);
    expect(t.numForeground).toBe(3);
    // a1 [0,0,10,20] -> GT0: dy = (5 - 10) / 20, dh = ln(10 / 20).
    expect(t.deltas[5]).toBeCloseTo(-0.25, 6);
    expect(t.deltas[7]).toBeCloseTo(Math.log(0.5), 6);
  });

  it('ATSS: threshold mean + std of the candidates IoUs, centre inside the box', () => {
    // Candidates (top 3 by centre distance): IoU 1, 2/3, 3/7 -> mean 0.6984, std 0.2870 -> only a0.
    const anchors = Float32Array.from([0, 0, 10, 10, 2, 0, 12, 10, 0, 4, 10, 14, 30, 30, 40, 40]);
    const t = assignAtss(anchors, Int32Array.from([0, 0, 0, 0]), 1, gtOf([0, 0, 10, 10], [0]), 2, 3);
    expect([...t.classes]).toEqual([0, 2, 2, 2]);
    expect(t.centerness[0]).toBeCloseTo(1, 6);
    // With topk 2 the candidates are IoU 1 and 2/3: mean 0.8333, std 0.2357 -> threshold 1.069: none.
    expect(assignAtss(anchors, Int32Array.from([0, 0, 0, 0]), 1, gtOf([0, 0, 10, 10], [0]), 2, 2).numForeground).toBe(0);
  });
});

describe.each(TEST_BACKENDS)('anchor losses on %s', (backend) => {
  it('decoding inverts the encoding', async () => {
    await activate(backend);
    const got = await decodeBoxes(tf.tensor2d([[1, 0.5, Math.LN2, 0]]), tf.tensor2d([[0, 0, 10, 10]])).data();
    [5, 5, 25, 15].forEach((v, i) => {
      expect(got[i]).toBeCloseTo(v, 4);
    });
  });

  it('RetinaNet losses: focal over non-ignored anchors, smooth L1 over foreground, / #fg', async () => {
    await activate(backend);
    const targets = [{ classes: Int32Array.from([0, -1, 1]), deltas: Float32Array.from([0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), boxes: new Float32Array(12), centerness: new Float32Array(3), numForeground: 1 }];
    const dense = { logits: tf.tensor2d([[1], [2], [-1]]), deltas: tf.zeros([3, 4]) as tf.Tensor2D, centerness: tf.zeros([3]) as tf.Tensor1D };
    const l = retinaNetLosses(dense, targets, 1, { alpha: 0.25, gamma: 2 }, 0.1);
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    // anchor 0: class 0 -> t=1 at x=1; anchor 1 ignored; anchor 2 background -> t=0 at x=-1.
    const f1 = 0.25 * (1 - sig(1)) ** 2 * Math.log1p(Math.exp(-1));
    const f2 = 0.75 * sig(-1) ** 2 * Math.log1p(Math.exp(-1));
    expect((await l.cls.data())[0]).toBeCloseTo(f1 + f2, 5);
    // |0 - 0.5| >= 0.1 -> 0.5 - 0.05.
    expect((await l.reg.data())[0]).toBeCloseTo(0.45, 5);
  });

  it('FreeAnchor losses equal the float64 bag likelihoods', async () => {
    await activate(backend);
    const anchors = Float32Array.from([0, 0, 10, 10, 10, 0, 20, 10]);
    const x = [0.3, -0.8];
    const dense = { logits: tf.tensor2d(x, [2, 1]), deltas: tf.zeros([2, 4]) as tf.Tensor2D, centerness: tf.zeros([2]) as tf.Tensor1D };
    const l = freeAnchorLosses(dense, anchors, [gtOf([0, 0, 10, 10], [0])], 1, { bagSize: 2, iouThreshold: 0.6, gamma: 2, alpha: 0.5, beta: 0.11, regWeight: 0.75 });
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const [p0, p1] = x.map(sig);
    // Bag = [a0 (exact box, box prob 1), a1 (dx target -1: smooth L1 0.945)].
    const p = [p0, p1 * Math.exp(-0.75 * (1 - 0.055))];
    const w = p.map((v) => 1 / (1 - v));
    const bag = (w[0] * p[0] + w[1] * p[1]) / (w[0] + w[1]);
    expect((await l.positive.data())[0]).toBeCloseTo(0.5 * -Math.log(bag), 5);
    // Predicted boxes = anchors: IoU 1 -> P(positive) 1 for a0, 0 for a1; negatives p1^2 * -log(1 - p1) / 2.
    expect((await l.negative.data())[0]).toBeCloseTo((0.5 * (p1 ** 2 * -Math.log(1 - p1))) / 2, 5);
  });
});
