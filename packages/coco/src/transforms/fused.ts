// Resize + flip + normalise in one pass over typed arrays, written straight into a padded batch.
// tfjs-backend-cpu's reverse and pad on an 800 x 1067 x 3 image take seconds (generic index math), so
// the loader does its pixel work here; the result equals the tensor transforms (bilinear with
// half-pixel centres, edges clamped, as tf.image.resizeBilinear(..., false, true)).

import type { RgbImage } from '../image/decoder';
import { type PixelLayout, type PixelNormalization, resolvePixels } from './normalize';

export interface ImageTarget {
  /** Output [height, width] before padding. */
  size: [number, number];
  flip: boolean;
  pixels: PixelLayout | PixelNormalization;
}

/**
 * Writes `src` resized to target.size (optionally mirrored, normalised) into `dst` at `offset`, rows
 * `rowStride` floats apart (the padded batch's width x 3). Pixels beyond the image are left untouched.
 */
export function writeImage(src: RgbImage, target: ImageTarget, dst: Float32Array, offset: number, rowStride: number): void {
  const { width: w, height: h, data } = src;
  const [nh, nw] = target.size;
  if (data.length !== w * h * 3) throw new Error(`writeImage: ${data.length} bytes for a ${w}x${h} RGB image (want ${w * h * 3})`);
  if (nw * 3 > rowStride) throw new Error(`writeImage: width ${nw} does not fit rows of ${rowStride / 3} pixels`);
  if (offset + (nh - 1) * rowStride + nw * 3 > dst.length) throw new Error(`writeImage: a ${nh}x${nw} image does not fit the output at offset ${offset}`);
  const p = resolvePixels(target.pixels);
  const order = p.channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  writeImageKernel(data, w, h, nh, nw, target.flip, order, p.mean, p.std, dst, offset, rowStride);
}

/**
 * The pass itself, self-contained (no imports, no closures) so that worker threads can run its source.
 * `order[c]` is the RGB channel written to output channel c.
 */
export function writeImageKernel(
  data: Uint8Array,
  w: number,
  h: number,
  nh: number,
  nw: number,
  flip: boolean,
  order: number[],
  mean: number[],
  std: number[],
  dst: Float32Array,
  offset: number,
  rowStride: number,
): void {
  const c0 = order[0];
  const c1 = order[1];
  const c2 = order[2];
  const m0 = mean[0];
  const m1 = mean[1];
  const m2 = mean[2];
  const s0 = std[0];
  const s1 = std[1];
  const s2 = std[2];
  // Column tables: source offsets and weights per output column (already mirrored when flipping).
  const sx = w / nw;
  const xa = new Int32Array(nw);
  const xb = new Int32Array(nw);
  const xf = new Float64Array(nw);
  for (let x = 0; x < nw; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
    const x0 = Math.floor(fx);
    const to = flip ? nw - 1 - x : x;
    xa[to] = x0 * 3;
    xb[to] = Math.min(x0 + 1, w - 1) * 3;
    xf[to] = fx - x0;
  }
  const sy = h / nh;
  for (let y = 0; y < nh; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const dy = fy - y0;
    const r0 = y0 * w * 3;
    const r1 = Math.min(y0 + 1, h - 1) * w * 3;
    let o = offset + y * rowStride;
    for (let x = 0; x < nw; x++, o += 3) {
      const a = xa[x];
      const b = xb[x];
      const dx = xf[x];
      // Channel by channel, written out: a closure here costs more than the arithmetic.
      let t = data[r0 + a + c0] + (data[r0 + b + c0] - data[r0 + a + c0]) * dx;
      let u = data[r1 + a + c0] + (data[r1 + b + c0] - data[r1 + a + c0]) * dx;
      dst[o] = (t + (u - t) * dy - m0) / s0;
      t = data[r0 + a + c1] + (data[r0 + b + c1] - data[r0 + a + c1]) * dx;
      u = data[r1 + a + c1] + (data[r1 + b + c1] - data[r1 + a + c1]) * dx;
      dst[o + 1] = (t + (u - t) * dy - m1) / s1;
      t = data[r0 + a + c2] + (data[r0 + b + c2] - data[r0 + a + c2]) * dx;
      u = data[r1 + a + c2] + (data[r1 + b + c2] - data[r1 + a + c2]) * dx;
      dst[o + 2] = (t + (u - t) * dy - m2) / s2;
    }
  }
}
