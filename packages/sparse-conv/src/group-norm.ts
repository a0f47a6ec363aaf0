import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './kernels/register';
import { GROUP_NORM_ROWS, GROUP_NORM_TRAIN, GROUP_NORM_TRAIN_GRAD, type GroupNormRowsAttrs, type GroupNormTrainAttrs } from './kernels/kernel-names';
import type { GroupNormParams } from './types';

/**
 * Whether these norms share one GroupNorm form (groups and eps; eps defaults to 1e-5), so that one
 * program normalises them all, each with its own gamma and beta.
 */
export function oneNormForm(norms: GroupNormParams[]): boolean {
  const [groups, eps] = [norms[0].groups, norms[0].eps ?? 1e-5];
  return norms.every((n) => n.groups === groups && (n.eps ?? 1e-5) === eps);
}

/**
 * GroupNorm over the whole map of each image (training form), as torch.nn.GroupNorm (biased
 * variance), with its gradient written out: dx = (dx̂ - mean(dx̂) - x̂ * mean(dx̂ * x̂)) / std per
 * image and group, where dx̂ = dy * gamma. tfjs's tape would differentiate the forward's ops one by
 * one and clone every tensor they save: about 90 kernels a norm, forward and backward. cpu, wasm
 * and webgpu run one kernel each way: GROUP_NORM_TRAIN and its gradient. On cpu and wasm they are
 * loops whose output equals the tfjs ops' below bit for bit, the gradient summed in float64 (a BCCD
 * training step, 12585 -> 9349 kernels); on webgpu two programs forward and four back, where the
 * ops dispatched about 28 (kernel-names.ts). Other backends run the written-out gradient as tfjs
 * ops, about 35 kernels a norm (16473 -> 12585), and their forward the ops of tf.moments.
 */
export function groupNormDense(x: tf.Tensor4D, norm: GroupNormParams): tf.Tensor4D {
  const eps = norm.eps ?? 1e-5;
  if (x.rank !== 4 || !Number.isInteger(norm.groups) || norm.groups < 1 || x.shape[3] % norm.groups !== 0) {
    throw new Error(`groupNormDense: x [${x.shape.join(',')}] must be NHWC with channels a multiple of groups (${norm.groups})`);
  }
  if (hasKernel(GROUP_NORM_TRAIN)) return groupNormDenseKernel(x, norm.gamma, norm.beta, { groups: norm.groups, eps });
  const [b, h, w, c] = x.shape;
  const g = norm.groups;
  const groupedShape = [b, h, w, g, c / g];
  const axes = [1, 2, 4];
  const normalize = tf.customGrad((...args: (tf.Tensor | ((saved: tf.Tensor[]) => void))[]) => {
    const [input, gamma, beta] = args as tf.Tensor[];
    const save = args[3] as (saved: tf.Tensor[]) => void;
    const grouped = tf.reshape(input, groupedShape);
    const mean = tf.mean(grouped, axes, true);
    const centred = tf.sub(grouped, mean);
    const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), axes, true), eps));
    const normed = tf.div(centred, std);
    save([normed, std, gamma]);
    return {
      value: tf.add(tf.mul(tf.reshape(normed, [b, h, w, c]), gamma), beta),
      gradFunc: (dy: tf.Tensor, [xHat, stdSaved, gammaSaved]: tf.Tensor[]) => {
        const dxHat = tf.reshape(tf.mul(dy, gammaSaved), groupedShape);
        const dGamma = tf.sum(tf.mul(dy, tf.reshape(xHat, [b, h, w, c])), [0, 1, 2]);
        const dBeta = tf.sum(dy, [0, 1, 2]);
        const spread = tf.add(tf.mean(dxHat, axes, true), tf.mul(xHat, tf.mean(tf.mul(dxHat, xHat), axes, true)));
        const dx = tf.reshape(tf.div(tf.sub(dxHat, spread), stdSaved), [b, h, w, c]);
        return [dx, dGamma, dBeta];
      },
    };
  });
  return normalize(x, norm.gamma, norm.beta) as tf.Tensor4D;
}

/** groupNormDense on cpu, wasm and webgpu: one kernel forward (saving per-group mean and 1/std), one back. */
function groupNormDenseKernel(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, attrs: GroupNormTrainAttrs): tf.Tensor4D {
  const named = attrs as unknown as tf.NamedAttrMap;
  const normalize = tf.customGrad((...args: (tf.Tensor | ((saved: tf.Tensor[]) => void))[]) => {
    const [input, g, b] = args as tf.Tensor[];
    const save = args[3] as (saved: tf.Tensor[]) => void;
    const [y, stats] = tf.engine().runKernel(GROUP_NORM_TRAIN, { x: input, gamma: g, beta: b }, named) as tf.Tensor[];
    save([input, g, stats]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [xSaved, gSaved, statsSaved]: tf.Tensor[]) =>
        tf.engine().runKernel(GROUP_NORM_TRAIN_GRAD, { dy, x: xSaved, gamma: gSaved, stats: statsSaved }, named) as tf.Tensor[],
    };
  });
  return normalize(x, gamma, beta) as tf.Tensor4D;
}

/**
 * GroupNorm of compacted rows [N, C] whose first counts[0] rows belong to image 0, the next
 * counts[1] to image 1, ...: statistics per image from its rows only (the official inference form).
 */
export function groupNormRows(rows: tf.Tensor2D, counts: number[], norm: GroupNormParams): tf.Tensor2D {
  return tf.tidy(() => {
    const c = rows.shape[1];
    const g = norm.groups;
    const parts: tf.Tensor[] = [];
    let start = 0;
    for (const n of counts) {
      if (n === 0) continue;
      const grouped = tf.reshape(tf.slice(rows, [start, 0], [n, c]), [n, g, c / g]);
      const { mean, variance } = tf.moments(grouped, [0, 2], true);
      parts.push(tf.reshape(tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, norm.eps ?? 1e-5))), [n, c]));
      start += n;
    }
    const normed = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
    return tf.add(tf.mul(normed, norm.gamma), norm.beta) as tf.Tensor2D;
  });
}

/**
 * GroupNorm of a map that is zero outside `mask`, statistics per image over the mask>0 pixels only,
 * computed without reading anything back (the WebGPU path). Output is NOT re-masked.
 */
export function groupNormMasked(x: tf.Tensor4D, mask: tf.Tensor4D, norm: GroupNormParams): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const g = norm.groups;
    const cg = c / g;
    const grouped = tf.reshape(x, [b, h, w, g, cg]);
    const m = tf.reshape(mask, [b, h, w, 1, 1]);
    // count of active values per (image, group); max(.,1) keeps empty images finite (they are masked out later).
    const count = tf.maximum(tf.mul(tf.sum(m, [1, 2, 4], true), cg), 1);
    const mean = tf.div(tf.sum(tf.mul(grouped, m), [1, 2, 4], true), count);
    const centred = tf.mul(tf.sub(grouped, mean), m);
    const variance = tf.div(tf.sum(tf.square(centred), [1, 2, 4], true), count);
    const normed = tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, norm.eps ?? 1e-5)));
    return tf.add(tf.mul(tf.reshape(normed, [b, h, w, c]), norm.gamma), norm.beta) as tf.Tensor4D;
  });
}

export interface GroupNormInferenceOptions {
  /** Per-channel bias added before the statistics (a conv's bias). */
  bias?: tf.Tensor1D;
  relu?: boolean;
  /** One factor per row (for a map [B,H,W,C]: a [B,H,W,1] gate) multiplying the result. */
  rowScale?: tf.Tensor;
}

/**
 * Inference GroupNorm (not differentiable) of `x` ([N, C] rows or an NHWC map), its rows grouped
 * into images by `counts` (rows per image, in order; for a map, H*W each): `GN(x + bias)`, then
 * ReLU, then times rowScale. cpu and wasm run one fused two-pass kernel; other backends the tfjs ops of groupNormRows.
 */
export function groupNormInference<T extends tf.Tensor>(x: T, counts: number[], norm: GroupNormParams, opts: GroupNormInferenceOptions = {}): T {
  const c = x.shape[x.shape.length - 1];
  const rows = x.size / c;
  if (counts.reduce((a, b) => a + b, 0) !== rows) {
    throw new Error(`groupNormInference: counts [${counts.join(',')}] must sum to the ${rows} rows of x [${x.shape.join(',')}]`);
  }
  if (opts.rowScale && opts.rowScale.size !== rows) {
    throw new Error(`groupNormInference: rowScale [${opts.rowScale.shape.join(',')}] must hold one factor per row of x [${x.shape.join(',')}]`);
  }
  if (hasKernel(GROUP_NORM_ROWS)) {
    const attrs: GroupNormRowsAttrs = { counts, groups: norm.groups, eps: norm.eps ?? 1e-5, relu: opts.relu ?? false };
    const inputs: tf.NamedTensorMap = { x, gamma: norm.gamma, beta: norm.beta };
    if (opts.bias) inputs.bias = opts.bias;
    if (opts.rowScale) inputs.rowScale = opts.rowScale;
    return tf.engine().runKernel(GROUP_NORM_ROWS, inputs, attrs as unknown as tf.NamedAttrMap) as T;
  }
  return tf.tidy(() => {
    let y = tf.reshape(x, [rows, c]) as tf.Tensor2D;
    if (opts.bias) y = tf.add(y, opts.bias);
    y = groupNormRows(y, counts, norm);
    if (opts.relu) y = tf.relu(y);
    if (opts.rowScale) y = tf.mul(y, tf.reshape(opts.rowScale, [rows, 1]));
    return tf.reshape(y, x.shape) as T;
  });
}
