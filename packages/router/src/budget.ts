import type { CostTerms } from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';

/** soft / full per image [B]: the fraction of the full head's multiply-adds the gates ask for. */
export function budgetRatio(cost: CostTerms): tf.Tensor1D {
  return tf.div(cost.soft, cost.full) as tf.Tensor1D;
}

/** The budget loss (paper Eq. 6, official): `lambda * mean over images of soft / full`. */
export function budgetLoss(cost: CostTerms, lambda: number): tf.Scalar {
  if (!Number.isFinite(lambda) || lambda < 0) throw new Error(`budgetLoss: lambda must be a finite number >= 0, got ${lambda}`);
  return tf.tidy(() => tf.mul(tf.mean(budgetRatio(cost)), lambda) as tf.Scalar);
}

export interface FlopsReport {
  /** "GFLOPs" in the official unit, used multiply-adds / 2^30, per image: average, min, max. */
  avg: number;
  min: number;
  max: number;
  /** The same unit for the head with every gate on. */
  fullAvg: number;
  images: number;
}

/** Summarises per-image costs (e.g. gathered over a validation set) as the official code reports them. */
export function flopsReport(costs: { used: ArrayLike<number>; full: ArrayLike<number> }): FlopsReport {
  const n = costs.used.length;
  if (n === 0) throw new Error('flopsReport: no images (costs.used is empty)');
  if (costs.full.length !== n) throw new Error(`flopsReport: costs.used has ${n} images but costs.full has ${costs.full.length}`);
  const g = 2 ** 30;
  let sum = 0;
  let fullSum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const u = costs.used[i] / g;
    sum += u;
    fullSum += costs.full[i] / g;
    min = Math.min(min, u);
    max = Math.max(max, u);
  }
  return { avg: sum / n, min, max, fullAvg: fullSum / n, images: n };
}
