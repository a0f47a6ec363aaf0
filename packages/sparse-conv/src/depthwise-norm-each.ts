import * as tf from '@tensorflow/tfjs-core';
import { convLayer } from './conv-layer';
import { DEPTHWISE_NORM_EACH, type DepthwiseNormEachAttrs } from './kernels/kernel-names';
import { hasSimdLoops } from './kernels/register';
import { oneNormForm } from './group-norm';
import type { GroupNormParams } from './types';

/** One gated depthwise layer: `gate * GN(dwconv3x3(x) + bias)`, GN over the whole map of each image. */
export interface GatedDepthwiseLayer {
  /** [3, 3, C, 1] */
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  norm: GroupNormParams;
  /** [B, H, W, 1]; absent: not gated. */
  gate?: tf.Tensor4D;
}

/**
 * convLayer(x, filter, { depthwise, bias, norm }, gate) for each layer: the scale node's paths,
 * which share their input. On wasm with SIMD one kernel reads x once for all of them, computes each
 * GroupNorm's statistics as it writes the conv output, and normalizes and gates that output in
 * place: a third of the passes over the map. The same numbers; inference only.
 */
export function depthwiseNormEach(x: tf.Tensor4D, layers: GatedDepthwiseLayer[]): tf.Tensor4D[] {
  const c = x.shape[3];
  const fused =
    layers.length > 0 &&
    hasSimdLoops() &&
    layers.every((l) => l.filter.shape[0] === 3 && l.filter.shape[1] === 3 && l.filter.shape[2] === c && l.filter.shape[3] === 1) &&
    oneNormForm(layers.map((l) => l.norm)) &&
    c % 4 === 0 &&
    (c / layers[0].norm.groups) % 4 === 0;
  if (!fused) return layers.map((l) => convLayer(x, l.filter, { depthwise: true, bias: l.bias, norm: l.norm }, l.gate));
  const inputs: tf.NamedTensorMap = { x };
  for (const [j, l] of layers.entries()) {
    if (l.gate && (l.gate.rank !== 4 || l.gate.shape[3] !== 1 || l.gate.shape.slice(0, 3).some((d, i) => d !== x.shape[i]))) {
      throw new Error(`depthwiseNormEach: layers[${j}].gate has shape [${l.gate.shape.join(',')}]; it must be [${x.shape.slice(0, 3).join(',')},1]`);
    }
    Object.assign(inputs, { [`filter${j}`]: l.filter, [`bias${j}`]: l.bias, [`gamma${j}`]: l.norm.gamma, [`beta${j}`]: l.norm.beta });
    if (l.gate) inputs[`gate${j}`] = l.gate;
  }
  const attrs: DepthwiseNormEachAttrs = { layers: layers.length, groups: layers[0].norm.groups, eps: layers[0].norm.eps ?? 1e-5 };
  return tf.engine().runKernel(DEPTHWISE_NORM_EACH, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor4D[];
}
