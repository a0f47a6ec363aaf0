import * as tf from '@tensorflow/tfjs-core';
import { attrsOf, backendOf, inputsOf, type KernelArgs, readValues, writeOutput } from './kernel-call';

/**
 * out[s, ...] = sum of x[i, ...] over the i with segmentIds[i] = s; ids outside [0, numSegments)
 * are dropped, as in TensorFlow. segmentIds' shape is a prefix of x's. (The gradient of gather.)
 */
export function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const { x, segmentIds } = inputsOf(args, tf.UnsortedSegmentSum, 'x', 'segmentIds');
  const { numSegments } = attrsOf<tf.UnsortedSegmentSumAttrs>(args);
  const backend = backendOf(args);
  const idsRank = segmentIds.shape.length;
  if (segmentIds.shape.some((d, k) => d !== x.shape[k])) {
    throw new Error(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`);
  }
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`UnsortedSegmentSum: numSegments must be a non-negative integer, got ${numSegments}`);
  }
  const inner = x.shape.slice(idsRank).reduce((p, d) => p * d, 1);
  const xv = readValues(backend, x);
  const ids = readValues(backend, segmentIds);
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let k = 0; k < inner; k++) out[dst + k] += xv[src + k];
  }
  return writeOutput(backend, [numSegments, ...x.shape.slice(idsRank)], x.dtype, out);
}

export function unsortedSegmentSumConfig(backendName: string): tf.KernelConfig {
  return { kernelName: tf.UnsortedSegmentSum, backendName, kernelFunc: unsortedSegmentSum };
}
