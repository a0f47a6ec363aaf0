import * as tf from '@tensorflow/tfjs-core';
import { attrsOf, backendOf, inputsOf, type KernelArgs, readValues, writeOutput } from './kernel-call';

function tapRow(acc: Float64Array, x: Float32Array, xo: number, w: Float32Array, wo: number, n: number): void {
  for (let c = 0; c < n; c++) acc[c] += x[xo + c] * w[wo + c];
}

/**
 * One output pixel of a 3x3 depthwise conv (multiplier 1) whose nine taps all read inside the
 * image, starting at x offset `xo` (tap (0, 0)), `dy` / `dx` apart along y and x. Each channel's
 * nine terms go into a register in tap order, so the sum is the one tapRow builds, without the
 * accumulator's nine loads and stores per channel (on a 50x84x256 map about 3x the loop's speed,
 * 2x the kernel's with its allocation and read-back).
 */
function interiorPixel3x3(out: Float32Array, o: number, x: Float32Array, xo: number, dy: number, dx: number, w: Float32Array, c: number): void {
  const r0 = xo;
  const r1 = xo + dy;
  const r2 = xo + 2 * dy;
  const dx2 = 2 * dx;
  for (let i = 0; i < c; i++) {
    let s = 0;
    s += x[r0 + i] * w[i];
    s += x[r0 + dx + i] * w[c + i];
    s += x[r0 + dx2 + i] * w[2 * c + i];
    s += x[r1 + i] * w[3 * c + i];
    s += x[r1 + dx + i] * w[4 * c + i];
    s += x[r1 + dx2 + i] * w[5 * c + i];
    s += x[r2 + i] * w[6 * c + i];
    s += x[r2 + dx + i] * w[7 * c + i];
    s += x[r2 + dx2 + i] * w[8 * c + i];
    out[o + i] = s;
  }
}

/**
 * NHWC depthwise conv on cpu, each output its exact sum rounded once (float64 accumulators, as the
 * cpu Conv2D). tfjs-backend-cpu's kernel goes through buffer get/set per value: ~40 ms for one
 * 3x3 pass over a 50x84x256 map, where this loop over contiguous channels takes ~10 ms. The
 * dynamic head's dense scale paths are such passes, 16 nodes x 5 levels x 2 towers of them.
 */
export function depthwiseConv2dSum(args: KernelArgs): tf.TensorInfo {
  const { x, filter } = inputsOf(args, tf.DepthwiseConv2dNative, 'x', 'filter');
  const attrs = attrsOf<tf.DepthwiseConv2dNativeAttrs>(args);
  const backend = backendOf(args);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const xv = readValues(backend, x);
  const wv = readValues(backend, filter);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW, dilationHeight: DH, dilationWidth: DW } = info;
  const M = O / C;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const out = new Float32Array(B * OH * OW * O);
  const acc = new Float64Array(O);
  const fast3x3 = FH === 3 && FW === 3 && M === 1;
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * SH - top;
      const rowInside = y0 >= 0 && y0 + 2 * DH < H;
      for (let ox = 0; ox < OW; ox++) {
        const x0 = ox * SW - left;
        if (fast3x3 && rowInside && x0 >= 0 && x0 + 2 * DW < W) {
          interiorPixel3x3(out, ((b * OH + oy) * OW + ox) * O, xv as Float32Array, ((b * H + y0) * W + x0) * C, DH * W * C, DW * C, wv as Float32Array, C);
          continue;
        }
        acc.fill(0);
        for (let fy = 0; fy < FH; fy++) {
          const y = oy * SH - top + fy * DH;
          if (y < 0 || y >= H) continue;
          for (let fx = 0; fx < FW; fx++) {
            const xx = ox * SW - left + fx * DW;
            if (xx < 0 || xx >= W) continue;
            const xo = ((b * H + y) * W + xx) * C;
            const wo = (fy * FW + fx) * O;
            if (M === 1) tapRow(acc, xv as Float32Array, xo, wv as Float32Array, wo, C);
            else {
              for (let c = 0; c < C; c++) {
                const v = xv[xo + c];
                for (let m = 0; m < M; m++) acc[c * M + m] += v * wv[wo + c * M + m];
              }
            }
          }
        }
        out.set(acc, ((b * OH + oy) * OW + ox) * O);
      }
    }
  }
  return writeOutput(backend, [B, OH, OW, O], 'float32', out);
}

/** DepthwiseConv2dNative on cpu; NCHW and non-float32 calls stay with the built-in kernel. */
export function depthwiseConv2dSumConfig(builtin: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.DepthwiseConv2dNative,
    backendName: 'cpu',
    kernelFunc: (args: KernelArgs) => {
      const { x } = inputsOf(args, tf.DepthwiseConv2dNative, 'x');
      if (attrsOf<tf.DepthwiseConv2dNativeAttrs>(args).dataFormat === 'NCHW' || x.dtype !== 'float32') return builtin.kernelFunc(args);
      return depthwiseConv2dSum(args);
    },
  };
}
