import * as tf from '@tensorflow/tfjs-core';
import { blendResized } from './blend-resized';
import { convLayer } from './conv-layer';
import { BLEND_PYRAMID, DEPTHWISE_GROUP_NORM, type DepthwiseGroupNormAttrs } from './kernels/kernel-names';
import { hasKernel } from './kernels/register';
import { checkPacked, type PyramidLayout, packPyramid, pyramidLevels, unpackPyramid } from './pyramid';
import type { GroupNormParams } from './types';

/** A depthwise 3x3 layer with GroupNorm: a scale path's conv (its gate applies where the path is blended). */
export interface DepthwiseNormLayer {
  /** [3, 3, C, 1] */
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  norm: GroupNormParams;
}

/**
 * GN(dwconv3x3(x) + bias) of levels `from` .. `to` - 1 of a packed pyramid x [P, C] (pyramid.ts),
 * statistics per level and image -> [their rows, C], as convLayer of each level would give it:
 * a scale path computed only on the levels its neighbours gather. webgpu: two dispatches for all
 * those levels (the conv written once, then GroupNorm); elsewhere level by level.
 */
export function depthwiseNormPyramid(x: tf.Tensor2D, layout: PyramidLayout, from: number, to: number, layer: DepthwiseNormLayer): tf.Tensor2D {
  pyramidLevels(layout, from, to); // checks the range
  checkPacked('depthwiseNormPyramid', 'x', x, layout, x.shape[1]);
  const { filter, bias, norm } = layer;
  const c = x.shape[1];
  if (filter.rank !== 4 || filter.shape[0] !== 3 || filter.shape[1] !== 3 || filter.shape[2] !== c || filter.shape[3] !== 1) {
    throw new Error(`depthwiseNormPyramid: filter has shape [${filter.shape.join(',')}]; it must be [3,3,${c},1]`);
  }
  if (tf.getBackend() === 'webgpu' && hasKernel(DEPTHWISE_GROUP_NORM)) {
    const attrs: DepthwiseGroupNormAttrs = { groups: norm.groups, eps: norm.eps ?? 1e-5, relu: false, pyramid: layout, levels: [from, to] };
    const inputs: tf.NamedTensorMap = { x, filter, gamma: norm.gamma, beta: norm.beta, bias };
    return tf.engine().runKernel(DEPTHWISE_GROUP_NORM, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
  }
  return tf.tidy(() => {
    const levels = unpackPyramid(x, layout).slice(from, to);
    return packPyramid(levels.map((level) => convLayer(level, filter, { depthwise: true, bias, norm })));
  });
}

/** A scale path's output over the levels it is computed on (packed), and its gate over every level [P, 1]. */
export interface GatedPath {
  map: tf.Tensor2D;
  gate: tf.Tensor2D;
}

/**
 * A scale node's combine for every level of a packed pyramid x [P, C]: level l is
 * `x_l * xWeight + (finer_{l-1} * its gate + coarser_{l+1} * its gate, each resized bilinearly
 * with align corners to level l) * sourceWeight`; `finer` holds levels 0 .. L-2, `coarser` levels
 * 1 .. L-1 (depthwiseNormPyramid), their gates every level. As blendResized of each level with the
 * gated paths would give it; one dispatch on webgpu, level by level elsewhere. Inference only.
 */
export function blendPyramid(x: tf.Tensor2D, layout: PyramidLayout, xWeight: tf.Tensor, finer: GatedPath, coarser: GatedPath, sourceWeight: tf.Tensor): tf.Tensor2D {
  const op = 'blendPyramid';
  const levels = layout.sizes.length;
  if (levels < 2) throw new Error(`${op}: a pyramid of at least two levels, got ${levels}`);
  const c = x.shape[1];
  checkPacked(op, 'x', x, layout, c);
  checkPacked(op, 'finer.map', finer.map, pyramidLevels(layout, 0, levels - 1).layout, c);
  checkPacked(op, 'coarser.map', coarser.map, pyramidLevels(layout, 1, levels).layout, c);
  checkPacked(op, 'finer.gate', finer.gate, layout, 1);
  checkPacked(op, 'coarser.gate', coarser.gate, layout, 1);
  if (xWeight.size !== 1 || sourceWeight.size !== 1) {
    throw new Error(`${op}: xWeight [${xWeight.shape.join(',')}] and sourceWeight [${sourceWeight.shape.join(',')}] must hold one value each`);
  }
  if (tf.getBackend() === 'webgpu' && hasKernel(BLEND_PYRAMID)) {
    const inputs = { x, xWeight, finer: finer.map, finerGate: finer.gate, coarser: coarser.map, coarserGate: coarser.gate, sourceWeight };
    return tf.engine().runKernel(BLEND_PYRAMID, inputs, { pyramid: layout } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
  }
  return tf.tidy(() => {
    const xs = unpackPyramid(x, layout);
    const gated = (path: GatedPath, from: number) => {
      const gates = unpackPyramid(path.gate, layout).slice(from, from + levels - 1);
      return unpackPyramid(path.map, pyramidLevels(layout, from, from + levels - 1).layout).map((m, i) => tf.mul(m, gates[i]) as tf.Tensor4D);
    };
    const [fine, coarse] = [gated(finer, 0), gated(coarser, 1)];
    const ys = xs.map((level, l) => {
      const sources = [...(l > 0 ? [fine[l - 1]] : []), ...(l < levels - 1 ? [coarse[l]] : [])];
      return blendResized(level, xWeight, sources, sourceWeight);
    });
    return packPyramid(ys);
  });
}
