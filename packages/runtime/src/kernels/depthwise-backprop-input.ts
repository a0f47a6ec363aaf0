import * as tf from '@tensorflow/tfjs-core';
import { depthwiseGeometry } from './depthwise-geometry';
import { attrsOf, backendOf, callKernel, inputsOf, type KernelArgs, readValues, release, writeOutput } from './kernel-call';
import { rotatedFilter } from './rotated-filter';

/**
 * dx[n, i, j, c] = sum over the (h, w, a, b) with i = h*sh - top + a*dh, j = w*sw - left + b*dw of
 * sum_m dy[n, h, w, c*M + m] * W[a, b, c, m]: scattered from each output pixel, a JS loop.
 */
export function depthwiseBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { dy, filter } = inputsOf(args, tf.DepthwiseConv2dNativeBackpropInput, 'dy', 'filter');
  const attrs = attrsOf<tf.DepthwiseConv2dNativeBackpropInputAttrs>(args);
  const backend = backendOf(args);
  const g = depthwiseGeometry(attrs.inputShape, filter.shape, attrs);
  const dyv = readValues(backend, dy);
  const fv = readValues(backend, filter);
  const { channels: C, multiplier: M, kh, kw } = g;
  const CM = C * M;
  const dx = new Float32Array(g.batch * g.inH * g.inW * C);
  for (let n = 0; n < g.batch; n++) {
    for (let h = 0; h < g.outH; h++) {
      for (let w = 0; w < g.outW; w++) {
        const dyBase = ((n * g.outH + h) * g.outW + w) * CM;
        for (let a = 0; a < kh; a++) {
          const i = h * g.strideH - g.padTop + a * g.dilationH;
          if (i < 0 || i >= g.inH) continue;
          for (let b = 0; b < kw; b++) {
            const j = w * g.strideW - g.padLeft + b * g.dilationW;
            if (j < 0 || j >= g.inW) continue;
            const xBase = ((n * g.inH + i) * g.inW + j) * C;
            const wBase = (a * kw + b) * CM;
            if (M === 1) {
              for (let c = 0; c < C; c++) dx[xBase + c] += dyv[dyBase + c] * fv[wBase + c];
            } else {
              for (let c = 0; c < C; c++) {
                let s = 0;
                for (let m = 0; m < M; m++) s += dyv[dyBase + c * M + m] * fv[wBase + c * M + m];
                dx[xBase + c] += s;
              }
            }
          }
        }
      }
    }
  }
  return writeOutput(backend, [...attrs.inputShape], 'float32', dx);
}

/**
 * Stride 1, multiplier 1: dx = depthwise(dy, W rotated 180 degrees), padded by (k_eff - 1 - pad),
 * a forward depthwise conv (~3 ms on wasm for 64x64x256 where the JS loop takes ~100x longer).
 * Returns null where that does not apply.
 */
export function depthwiseBackpropInputComposed(args: KernelArgs, backendName: string): tf.TensorInfo | null {
  const { dy, filter } = inputsOf(args, tf.DepthwiseConv2dNativeBackpropInput, 'dy', 'filter');
  const attrs = attrsOf<tf.DepthwiseConv2dNativeBackpropInputAttrs>(args);
  const g = depthwiseGeometry(attrs.inputShape, filter.shape, attrs);
  const ekh = (g.kh - 1) * g.dilationH + 1;
  const ekw = (g.kw - 1) * g.dilationW + 1;
  const top = ekh - 1 - g.padTop;
  const left = ekw - 1 - g.padLeft;
  const bottom = g.inH - g.outH + ekh - 1 - top;
  const right = g.inW - g.outW + ekw - 1 - left;
  if (g.strideH !== 1 || g.strideW !== 1 || g.multiplier !== 1 || Math.min(top, left, bottom, right) < 0) return null;
  const backend = backendOf(args);
  const flipped = rotatedFilter(backend, backendName, filter, false);
  const dx = callKernel('DepthwiseConv2dNative', backendName, backend, { x: dy, filter: flipped }, {
    strides: [1, 1],
    dilations: [g.dilationH, g.dilationW],
    pad: [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
  });
  release(backend, flipped);
  return dx;
}

/** `composed`: try the forward-conv form first (backends with a fast depthwise kernel). */
export function depthwiseBackpropInputConfig(backendName: string, composed = false): tf.KernelConfig {
  return {
    kernelName: tf.DepthwiseConv2dNativeBackpropInput,
    backendName,
    kernelFunc: (args) => (composed ? depthwiseBackpropInputComposed(args, backendName) : null) ?? depthwiseBackpropInput(args),
  };
}
