import * as tf from '@tensorflow/tfjs-core';
import { attrsOf, backendOf, inputsOf, type KernelArgs, readValues, writeOutput } from './kernel-call';

/** Source index of output index `i` along one axis, exactly as the forward ResizeNearestNeighbor picks it. */
function sourceIndex(i: number, ratio: number, inSize: number, alignCorners: boolean, halfPixelCenters: boolean): number {
  const frac = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
  const nearest = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
  return halfPixelCenters ? Math.max(0, nearest) : nearest;
}

function sizeRatio(inSize: number, outSize: number, alignCorners: boolean): number {
  const corners = alignCorners && outSize > 1;
  return (corners ? inSize - 1 : inSize) / (corners ? outSize - 1 : outSize);
}

/**
 * The gradient of nearest-neighbour resizing: each dy pixel adds into the input pixel the forward
 * pass copied it from. tfjs-backend-cpu 4.22's kernel offsets dy by the IMAGE's batch stride, so
 * every image after the first gets another image's gradient (wrong for batch > 1: the FPN's
 * top-down path trained differently on cpu than on wasm); tfjs-backend-wasm's ignores halfPixelCenters.
 */
export function resizeNearestNeighborGrad(args: KernelArgs): tf.TensorInfo {
  const { images, dy } = inputsOf(args, tf.ResizeNearestNeighborGrad, 'images', 'dy');
  const { alignCorners = false, halfPixelCenters = false } = attrsOf<Partial<tf.ResizeNearestNeighborAttrs>>(args);
  const backend = backendOf(args);
  const [batch, inH, inW, depth] = images.shape;
  const [, outH, outW] = dy.shape;
  const rows = Array.from({ length: outH }, (_, r) => sourceIndex(r, sizeRatio(inH, outH, alignCorners), inH, alignCorners, halfPixelCenters));
  const cols = Array.from({ length: outW }, (_, c) => sourceIndex(c, sizeRatio(inW, outW, alignCorners), inW, alignCorners, halfPixelCenters));
  const dyv = readValues(backend, dy);
  const out = new Float32Array(batch * inH * inW * depth);
  for (let b = 0, src = 0; b < batch; b++) {
    for (let r = 0; r < outH; r++) {
      const rowBase = (b * inH + rows[r]) * inW;
      for (let c = 0; c < outW; c++) {
        const dst = (rowBase + cols[c]) * depth;
        for (let d = 0; d < depth; d++, src++) out[dst + d] += dyv[src];
      }
    }
  }
  return writeOutput(backend, images.shape, 'float32', out);
}

export function resizeNearestNeighborGradConfig(backendName: string): tf.KernelConfig {
  return { kernelName: tf.ResizeNearestNeighborGrad, backendName, kernelFunc: resizeNearestNeighborGrad };
}
