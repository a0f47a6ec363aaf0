import * as tf from '@tensorflow/tfjs-core';
import type { ActivePixels } from './active-pixels';

/** Upper bound on the im2col block, in floats, so that dense-ish masks on big maps stay in memory. */
const MAX_BLOCK_FLOATS = 1 << 23;

/** Row index of each active pixel in the zero-padded map flattened to [B*(H+2p)*(W+2p), C]. */
function paddedRows(active: ActivePixels, pad: number): Int32Array {
  const { indices, height, width } = active;
  const hp = height + 2 * pad;
  const wp = width + 2 * pad;
  const plane = height * width;
  const rows = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const f = indices[i];
    const b = Math.floor(f / plane);
    const p = f - b * plane;
    const y = Math.floor(p / width);
    rows[i] = b * hp * wp + y * wp + (p - y * width);
  }
  return rows;
}

/**
 * The generic sparse conv on any backend: gather each active pixel's k x k neighbourhood from the
 * padded input (im2col of the active rows only), one matMul with the filter, giving [N, Cout]
 * rows in the order of active.indices. Depthwise: a weighted sum of the k*k gathered taps.
 */
export function gatherConvRows(x: tf.Tensor4D, active: ActivePixels, filter: tf.Tensor4D, depthwise: boolean): tf.Tensor2D {
  const [, , , cin] = x.shape;
  const k = filter.shape[0];
  const pad = (k - 1) / 2;
  const n = active.indices.length;
  const wp = active.width + 2 * pad;
  const base = paddedRows(active, pad);
  return tf.tidy(() => {
    const padded = pad > 0 ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x;
    const flat = tf.reshape(padded, [-1, cin]) as tf.Tensor2D;
    const cout = depthwise ? cin : filter.shape[3];
    const weights = depthwise ? tf.reshape(filter, [k * k, cin]) : tf.reshape(filter, [k * k * cin, cout]);
    const blockRows = Math.max(1, Math.floor(MAX_BLOCK_FLOATS / (k * k * cin)));
    const blocks: tf.Tensor2D[] = [];
    for (let start = 0; start < n; start += blockRows) {
      const m = Math.min(blockRows, n - start);
      blocks.push(
        tf.tidy(() => {
          const taps: tf.Tensor2D[] = [];
          for (let dy = 0; dy < k; dy++) {
            for (let dx = 0; dx < k; dx++) {
              const idx = new Int32Array(m);
              const off = dy * wp + dx;
              for (let i = 0; i < m; i++) idx[i] = base[start + i] + off;
              taps.push(tf.gather(flat, tf.tensor1d(idx, 'int32')) as tf.Tensor2D);
            }
          }
          if (depthwise) {
            let acc = tf.mul(taps[0], tf.slice(weights, [0, 0], [1, cin]));
            for (let t = 1; t < taps.length; t++) acc = tf.add(acc, tf.mul(taps[t], tf.slice(weights, [t, 0], [1, cin])));
            return acc as tf.Tensor2D;
          }
          const cols = taps.length === 1 ? taps[0] : tf.concat(taps, 1);
          return tf.matMul(cols, weights as tf.Tensor2D);
        }),
      );
    }
    return blocks.length === 1 ? blocks[0] : (tf.concat(blocks, 0) as tf.Tensor2D);
  });
}

/** Scatter [N, C] rows to a zero [B,H,W,C] map at the active pixels. */
export function scatterRows(rows: tf.Tensor2D, active: ActivePixels): tf.Tensor4D {
  const { batch, height, width, indices } = active;
  const c = rows.shape[1];
  return tf.tidy(() => {
    const idx = tf.tensor2d(indices, [indices.length, 1], 'int32');
    return tf.reshape(tf.scatterND(idx, rows, [batch * height * width, c]), [batch, height, width, c]) as tf.Tensor4D;
  });
}
