import * as tf from '@tensorflow/tfjs-core';
import { CONCAT_ROWS, SPLIT_ROWS, type SplitRowsAttrs } from './kernels/kernel-names';
import { hasKernel } from './kernels/register';

/**
 * x's consecutive row blocks (`rows[i]` rows each; they sum to x's first dimension). On webgpu
 * these are buffer copies, not a slice program each: a packed pyramid's levels come out of the
 * head's outputs at no dispatch's host cost.
 */
export function splitRows<T extends tf.Tensor>(x: T, rows: number[]): T[] {
  const total = rows.reduce((a, n) => a + n, 0);
  if (x.rank < 1 || x.shape[0] !== total) throw new Error(`splitRows: x has shape [${x.shape.join(',')}]; the blocks need ${total} rows`);
  if (!hasKernel(SPLIT_ROWS)) return tf.split(x, rows, 0) as T[];
  const attrs: SplitRowsAttrs = { rows };
  return tf.engine().runKernel(SPLIT_ROWS, { x }, attrs as unknown as tf.NamedAttrMap) as unknown as T[];
}

/** xs stacked along their first dimension (the same trailing shape and dtype); buffer copies on webgpu. */
export function concatRows<T extends tf.Tensor>(xs: readonly T[]): T {
  if (xs.length === 0) throw new Error('concatRows: no tensors');
  const trailing = xs[0].shape.slice(1).join(',');
  xs.forEach((x, i) => {
    if (x.rank < 1 || x.shape.slice(1).join(',') !== trailing || x.dtype !== xs[0].dtype) {
      throw new Error(`concatRows: xs[${i}] is ${x.dtype} [${x.shape.join(',')}]; xs[0] is ${xs[0].dtype} [${xs[0].shape.join(',')}]`);
    }
  });
  if (xs.length === 1) return tf.clone(xs[0]);
  if (!hasKernel(CONCAT_ROWS)) return tf.concat(xs as T[], 0);
  // as an array, as tfjs's Concat: its gradient saves every input
  return tf.engine().runKernel(CONCAT_ROWS, xs as unknown as tf.NamedTensorMap) as T;
}
