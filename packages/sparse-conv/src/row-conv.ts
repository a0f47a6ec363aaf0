import * as tf from '@tensorflow/tfjs-core';
import { type Im2ColFromRowsAttrs, SPARSE_CONV_ROWS, SPARSE_IM2COL_FROM_ROWS } from './kernels/kernel-names';
import { hasKernel } from './kernels/register';
import { sparseConvRows, sparseDepthwise, sparseIm2col } from './kernels/row-ops';

/** Upper bound on one im2col block, in floats (32 MB), so dense-ish masks on big maps fit in memory. */
const MAX_BLOCK_FLOATS = 1 << 23;

/**
 * Conv rows [N, Cout] at the active pixels through the cpu/wasm row kernels: a direct loop on cpu;
 * on wasm im2col of the active pixels only, then one matMul per block (XNNPACK-speed GEMM);
 * depthwise convolves the rows directly.
 */
export function kernelConvRows(x: tf.Tensor4D, indices: Int32Array, filter: tf.Tensor4D, depthwise: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    if (depthwise) return sparseDepthwise(x, tf.tensor1d(indices, 'int32'), filter);
    if (hasKernel(SPARSE_CONV_ROWS)) return sparseConvRows(x, tf.tensor1d(indices, 'int32'), filter);
    return im2colMatMul(indices, filter, (idx) => sparseIm2col(x, idx, filter.shape[0]));
  });
}

/**
 * kernelConvRows of a map given as rows (zero except rows[i] at pixel rowIndices[i], ascending):
 * wasm SIMD only (hasSimdLoops), im2col straight from the rows, then one matMul per block.
 */
export function kernelConvRowsFromRows(rows: tf.Tensor2D, rowIndices: Int32Array, mapShape: [number, number, number], indices: Int32Array, filter: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const listed = tf.tensor1d(rowIndices, 'int32');
    const attrs: Im2ColFromRowsAttrs = { kernel: filter.shape[0], mapShape };
    return im2colMatMul(indices, filter, (idx) => tf.engine().runKernel(SPARSE_IM2COL_FROM_ROWS, { rows, rowIndices: listed, indices: idx }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D);
  });
}

/** Conv rows at `indices`: im2col (by `im2col`) and one matMul per block of at most MAX_BLOCK_FLOATS. */
function im2colMatMul(indices: Int32Array, filter: tf.Tensor4D, im2col: (idx: tf.Tensor1D) => tf.Tensor2D): tf.Tensor2D {
  const [k, , cin, cout] = filter.shape;
  const weights = tf.reshape(filter, [k * k * cin, cout]) as tf.Tensor2D;
  const blockRows = Math.max(1, Math.floor(MAX_BLOCK_FLOATS / (k * k * cin)));
  const blocks: tf.Tensor2D[] = [];
  for (let start = 0; start < indices.length; start += blockRows) {
    const idx = tf.tensor1d(indices.subarray(start, Math.min(indices.length, start + blockRows)), 'int32');
    blocks.push(tf.matMul(im2col(idx), weights));
  }
  return blocks.length === 1 ? blocks[0] : (tf.concat(blocks, 0) as tf.Tensor2D);
}
