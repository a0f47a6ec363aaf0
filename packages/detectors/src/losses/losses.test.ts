import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate } from '../../../../test/backends';
import { bceWithLogits, sigmoidFocalLoss } from './focal';
import { ltrbIouLoss, xyxyGiouLoss } from './giou';
import { smoothL1 } from './smooth-l1';

describe.each(TEST_BACKENDS)('losses on %s', (backend) => {
  it('focal loss and BCE equal hand-computed values', async () => {
    await activate(backend);
    const x = tf.tensor1d([0, 2, -1, 30]);
    const t = tf.tensor1d([1, 0, 1, 0]);
    // x=0,t=1: BCE ln2; p_t 0.5 -> 0.25 * 0.5^2 * ln2.
    // x=2,t=0: BCE ln(1+e^2) = 2.126928; p_t = 1-sigmoid(2) = 0.119203; 0.75 * 0.880797^2 * 2.126928.
    // x=-1,t=1: BCE ln(1+e) = 1.313262; p_t = sigmoid(-1) = 0.268941; 0.25 * 0.731059^2 * 1.313262.
    // x=30,t=0: BCE 30 + ln(1+e^-30) ~ 30; p_t ~ 9.4e-14; 0.75 * ~1 * 30.
    const bce = await bceWithLogits(x, t).data();
    const focal = await sigmoidFocalLoss(x, t).data();
    const wantBce = [Math.LN2, 2.126928, 1.3132617, 30];
    const wantFocal = [0.25 * 0.25 * Math.LN2, 0.75 * 0.8807971 ** 2 * 2.126928, 0.25 * 0.7310586 ** 2 * 1.3132617, 22.5];
    wantBce.forEach((w, i) => {
      expect(bce[i]).toBeCloseTo(w, 5);
    });
    wantFocal.forEach((w, i) => {
      expect(focal[i]).toBeCloseTo(w, 5);
    });
    // gamma 0 and alpha < 0 is plain BCE.
    const plain = await sigmoidFocalLoss(x, t, { gamma: 0, alpha: -1 }).data();
    wantBce.forEach((w, i) => {
      expect(plain[i]).toBeCloseTo(w, 5);
    });
  });

  it('focal loss gradient equals the float64 derivative', async () => {
    await activate(backend);
    const xs = [-2, -0.3, 0.4, 1.7];
    const ts = [1, 0, 1, 0];
    const g = await tf.grad((x: tf.Tensor) => tf.sum(sigmoidFocalLoss(x, tf.tensor1d(ts))))(tf.tensor1d(xs)).data();
    const f = (x: number, t: number) => {
      const p = 1 / (1 + Math.exp(-x));
      const ce = Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
      const pt = p * t + (1 - p) * (1 - t);
      return (t ? 0.25 : 0.75) * (1 - pt) ** 2 * ce;
    };
    xs.forEach((x, i) => {
      const fd = (f(x + 1e-6, ts[i]) - f(x - 1e-6, ts[i])) / 2e-6;
      expect(g[i]).toBeCloseTo(fd, 4);
    });
  });

  it('GIoU loss on (l,t,r,b) equals hand-computed values and is finite on zero rows', async () => {
    await activate(backend);
    const pred = tf.tensor2d([
      [1, 1, 1, 1],
      [1, 1, 3, 1],
      [5, 5, 5, 5],
    ]);
    const target = tf.tensor2d([
      [2, 2, 2, 2],
      [2, 0.5, 1, 2],
      [0, 0, 0, 0],
    ]);
    // Row 0: nested boxes, IoU 4/16, hull = union -> 0.75.
    // Row 1: areas 8 and 7.5, inter 2 * 1.5 = 3, union 12.5, IoU 0.24, hull 5 * 3 = 15 -> 1 - (0.24 - 2.5/15).
    // Row 2: empty target: IoU 0, hull = union = 100 -> 1.
    const got = await ltrbIouLoss(pred, target, 'giou').data();
    expect(got[0]).toBeCloseTo(0.75, 6);
    expect(got[1]).toBeCloseTo(1 - (0.24 - 2.5 / 15), 6);
    expect(got[2]).toBeCloseTo(1, 6);
    const lin = await ltrbIouLoss(pred, target, 'linear_iou').data();
    expect(lin[1]).toBeCloseTo(0.76, 6);
    const g = await tf.grad((p: tf.Tensor) => tf.sum(ltrbIouLoss(p, tf.zeros([3, 4]))))(pred).data();
    for (const v of g) expect(Number.isFinite(v)).toBe(true);
  });

  it('GIoU on corner boxes and smooth L1 equal hand-computed values', async () => {
    await activate(backend);
    // [0,0,2,2] vs [1,1,3,3]: inter 1, union 7, hull 9 -> 1 - (1/7 - 2/9).
    const got = await xyxyGiouLoss(tf.tensor2d([[0, 0, 2, 2]]), tf.tensor2d([[1, 1, 3, 3]])).data();
    expect(got[0]).toBeCloseTo(1 - (1 / 7 - 2 / 9), 6);
    const s = await smoothL1(tf.tensor1d([0, 0.05, 1, -2]), tf.tensor1d([0, 0, 0, 0]), 0.1).data();
    // |d| < 0.1: 0.5 d^2 / 0.1; else |d| - 0.05.
    expect(Array.from(s).map((v) => Number(v.toFixed(6)))).toEqual([0, 0.0125, 0.95, 1.95]);
  });
});
