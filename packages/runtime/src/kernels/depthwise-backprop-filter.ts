import * as tf from '@tensorflow/tfjs-core';
import { depthwiseGeometry } from './depthwise-geometry';
import { attrsOf, backendOf, inputsOf, type KernelArgs, readValues, writeOutput } from './kernel-call';

/**
 * dW[a, b, c, m] = sum_{n,h,w} x[n, h*sh - top + a*dh, w*sw - left + b*dw, c] * dy[n, h, w, c*M + m].
 * Only k*k*C*M multiply-adds per output pixel, so a plain JS loop over the in-memory data is cheap.
 */
export function depthwiseBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = inputsOf(args, tf.DepthwiseConv2dNativeBackpropFilter, 'x', 'dy');
  const attrs = attrsOf<tf.DepthwiseConv2dNativeBackpropFilterAttrs>(args);
  const backend = backendOf(args);
  const g = depthwiseGeometry(x.shape, attrs.filterShape, attrs);
  const xv = readValues(backend, x);
  const dyv = readValues(backend, dy);
  const { channels: C, multiplier: M, kh, kw } = g;
  const CM = C * M;
  const dW = new Float64Array(kh * kw * CM); // float64 accumulation: sums run over every pixel of the batch
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
            for (let c = 0; c < C; c++) {
              const xc = xv[xBase + c];
              if (xc === 0) continue;
              for (let m = 0; m < M; m++) dW[wBase + c * M + m] += xc * dyv[dyBase + c * M + m];
            }
          }
        }
      }
    }
  }
  return writeOutput(backend, [...attrs.filterShape], 'float32', Float32Array.from(dW));
}

export function depthwiseBackpropFilterConfig(backendName: string): tf.KernelConfig {
  return { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, backendName, kernelFunc: depthwiseBackpropFilter };
}
