import * as tf from '@tensorflow/tfjs-core';
import { readActivePixels } from './active-pixels';
import { gatherConvRows, scatterRows } from './gather-conv';
import { groupNormRows } from './group-norm';
import type { SparseConvOptions } from './types';
import { validateConvArgs } from './validate';

/**
 * The inference form: conv (+bias) (+GroupNorm with statistics from each image's active pixels)
 * (+ReLU) computed only at mask>0 pixels; exact 0 elsewhere. `mask` must be 0/1 (see gateMask).
 */
export async function sparseConv2d(
  x: tf.Tensor4D,
  mask: tf.Tensor4D,
  filter: tf.Tensor4D,
  opts: SparseConvOptions = {},
): Promise<tf.Tensor4D> {
  const { outChannels } = validateConvArgs('sparseConv2d', x, mask, filter, opts);
  const active = await readActivePixels(mask);
  const [b, h, w] = x.shape;
  if (active.indices.length === 0) return tf.zeros([b, h, w, outChannels]);
  return tf.tidy(() => {
    let rows = gatherConvRows(x, active, filter, opts.depthwise ?? false);
    if (opts.bias) rows = tf.add(rows, opts.bias);
    if (opts.norm) rows = groupNormRows(rows, active.counts, opts.norm);
    if (opts.post === 'relu') rows = tf.relu(rows);
    return scatterRows(rows, active);
  });
}
