import * as tf from '@tensorflow/tfjs-core';
import { type ActivePixels, readActivePixels } from './active-pixels';
import { gatherConvRows, scatterRows } from './gather-conv';
import { groupNormMasked, groupNormRows } from './group-norm';
import { hasRowKernels } from './kernels/register';
import { scatterRowsDense } from './kernels/row-ops';
import { denseConv } from './masked-conv2d';
import { kernelConvRows } from './row-conv';
import { denseFallbackDensity } from './thresholds';
import type { SparseConvMethod, SparseConvOptions } from './types';
import { validateConvArgs } from './validate';

/** The implementation 'auto' resolves to for this backend and mask density. */
export function chooseMethod(backend: string, density: number, depthwise: boolean): Exclude<SparseConvMethod, 'auto'> {
  if (density > denseFallbackDensity(backend, depthwise)) return 'dense';
  return hasRowKernels() ? 'kernel' : 'gather';
}

/**
 * The inference form: conv (+bias) (+GroupNorm with statistics from each image's active pixels)
 * (+ReLU) computed only at mask>0 pixels; exact 0 elsewhere. `mask` must be 0/1 (see gateMask).
 * Not differentiable (maskedConv2d is the training form).
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
  const n = active.indices.length;
  if (n === 0) return tf.zeros([b, h, w, outChannels]);
  const depthwise = opts.depthwise ?? false;
  let method = opts.method ?? 'auto';
  if (method === 'auto') method = chooseMethod(tf.getBackend(), n / (b * h * w), depthwise);
  if (method === 'kernel' && !hasRowKernels()) method = 'gather';
  if (method === 'dense') return denseMasked(x, mask, filter, opts);
  return tf.tidy(() => {
    const useKernel = method === 'kernel';
    let rows = useKernel ? kernelConvRows(x, active.indices, filter, depthwise) : gatherConvRows(x, active, filter, depthwise);
    rows = epilogueRows(rows, active, opts);
    if (!useKernel) return scatterRows(rows, active);
    return scatterRowsDense(rows, tf.tensor1d(active.indices, 'int32'), [b, h, w, outChannels]);
  });
}

/** bias, GN (per-image statistics over the rows), ReLU on compacted rows. */
function epilogueRows(rows: tf.Tensor2D, active: ActivePixels, opts: SparseConvOptions): tf.Tensor2D {
  let y = rows;
  if (opts.bias) y = tf.add(y, opts.bias);
  if (opts.norm) y = groupNormRows(y, active.counts, opts.norm);
  if (opts.post === 'relu') y = tf.relu(y);
  return y;
}

/** Dense conv, then the sparse form's epilogue in masked-dense form: the same numbers as the sparse paths. */
function denseMasked(x: tf.Tensor4D, mask: tf.Tensor4D, filter: tf.Tensor4D, opts: SparseConvOptions): tf.Tensor4D {
  return tf.tidy(() => {
    let y = denseConv(x, filter, opts);
    if (opts.norm) y = groupNormMasked(y, mask, opts.norm);
    if (opts.post === 'relu') y = tf.relu(y);
    // where, not y * mask: exact +0 off the mask (a product would leave -0 for negative y)
    return tf.where(tf.cast(mask, 'bool'), y, tf.zerosLike(y));
  });
}
