import * as tf from '@tensorflow/tfjs-core';
import { blendResized } from './blend-resized';
import { convLayer } from './conv-layer';
import { activatedGateConvsPyramid, type ConvActivation, type GateConvParams } from './few-output-conv';
import { BLEND_PYRAMID, type BlendPyramidAttrs, DEPTHWISE_GROUP_NORM, type DepthwiseGroupNormAttrs, SCALE_NODE_INPUTS, SCALE_NODE_INPUTS_TOWER1, SCALE_NODE_TOWERS, SCALE_PATHS, SCALE_PATHS_GATES, type ScaleNodeTowersAttrs, type ScalePathsAttrs, type ScalePathsGatesAttrs } from './kernels/kernel-names';
import { blendCombinesFor } from './kernels/blend-pyramid-program';
import { carriedGateRows, pathGateRows } from './kernels/scale-paths-gates-program';
import { hasKernel } from './kernels/register';
import { webgpuTuningFlag } from './kernels/webgpu-tuning';
import { concatRows } from './row-blocks';
import { checkPacked, checkPackedFrom, type PyramidLayout, packPyramid, pyramidLevels, pyramidRows, pyramidRowsFrom, scalePathsLayout, stackedLayout, unpackPyramid } from './pyramid';
import { oneNormForm } from './group-norm';
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
  checkDepthwiseFilter('depthwiseNormPyramid', 'filter', filter, c);
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

/** A scale node's input (from row firstRow) and paths checked, naming `op` and the argument at fault: its channels. */
function checkScalePaths(op: string, x: tf.Tensor2D, layout: PyramidLayout, finer: DepthwiseNormLayer, coarser: DepthwiseNormLayer, firstRow = 0): number {
  const levels = layout.sizes.length;
  if (levels < 2) throw new Error(`${op}: a pyramid of at least two levels, got ${levels}`);
  const c = x.shape[1];
  checkPackedFrom(op, 'x', x, layout, firstRow, c);
  checkDepthwiseFilter(op, 'finer.filter', finer.filter, c);
  checkDepthwiseFilter(op, 'coarser.filter', coarser.filter, c);
  return c;
}

/** checkScalePaths with the paths' gates and biases: the input's channels. */
function checkGatedScalePaths(op: string, x: tf.Tensor2D, layout: PyramidLayout, finer: DepthwiseNormLayer, coarser: DepthwiseNormLayer, gates: [GateConvParams, GateConvParams], firstRow: number): number {
  const c = checkScalePaths(op, x, layout, finer, coarser, firstRow);
  for (const [i, g] of gates.entries()) {
    checkDepthwiseFilter(op, `gates[${i}].filter`, g.filter, c);
    if (g.bias.size !== 1) throw new Error(`${op}: gates[${i}].bias must hold one value, got shape [${g.bias.shape.join(',')}]`);
  }
  for (const [name, b] of [['finer.bias', finer.bias], ['coarser.bias', coarser.bias]] as const) {
    if (b.size !== c) throw new Error(`${op}: ${name} has shape [${b.shape.join(',')}]; it must hold ${c} values`);
  }
  return c;
}

/** The two paths' weights as SCALE_PATHS and SCALE_PATHS_GATES take them: the finer's, then the coarser's with suffix 1. */
function pathInputs(finer: DepthwiseNormLayer, coarser: DepthwiseNormLayer): tf.NamedTensorMap {
  return {
    filter: finer.filter,
    bias: finer.bias,
    gamma: finer.norm.gamma,
    beta: finer.norm.beta,
    filter1: coarser.filter,
    bias1: coarser.bias,
    gamma1: coarser.norm.gamma,
    beta1: coarser.norm.beta,
  };
}

function checkDepthwiseFilter(op: string, name: string, filter: tf.Tensor, c: number): void {
  if (filter.rank !== 4 || filter.shape[0] !== 3 || filter.shape[1] !== 3 || filter.shape[2] !== c || filter.shape[3] !== 1) {
    throw new Error(`${op}: ${name} has shape [${filter.shape.join(',')}]; it must be [3,3,${c},1]`);
  }
}

/**
 * Both scale paths of a scale node on a packed pyramid x [P, C], each on the levels its
 * neighbours gather: depthwiseNormPyramid of `finer` on levels 0 .. L-2, then of `coarser` on
 * levels 1 .. L-1, in one tensor [their rows, C] (what blendPyramid takes as its paths). webgpu:
 * two dispatches for both (their convs in one map, then one GroupNorm with each path's own
 * parameters) where four would run one path at a time; elsewhere path after path, level by level.
 */
export function scalePathsPyramid(x: tf.Tensor2D, layout: PyramidLayout, finer: DepthwiseNormLayer, coarser: DepthwiseNormLayer): tf.Tensor2D {
  return scalePaths('scalePathsPyramid', x, layout, finer, coarser, false).maps;
}

/**
 * scalePathsPyramid for blendPyramid: where the blend normalises the paths as it samples them
 * (webgpu, a GPU's tuning), `maps` are the paths' depthwise convs (with bias) and `affine` [runs,
 * 2, C] their GroupNorm's scale and shift per (level, image) run, so the normalised maps are never
 * written (the blend reads a few of their pixels); elsewhere scalePathsPyramid's maps, no affine.
 */
export function scalePathsToBlend(x: tf.Tensor2D, layout: PyramidLayout, finer: DepthwiseNormLayer, coarser: DepthwiseNormLayer): Pick<ScalePaths, 'maps' | 'affine'> {
  return scalePaths('scalePathsToBlend', x, layout, finer, coarser, hasKernel(SCALE_PATHS) && webgpuTuningFlag('blendNormalizes'));
}

function scalePaths(op: string, x: tf.Tensor2D, layout: PyramidLayout, finer: DepthwiseNormLayer, coarser: DepthwiseNormLayer, affine: boolean): Pick<ScalePaths, 'maps' | 'affine'> {
  checkScalePaths(op, x, layout, finer, coarser);
  if (tf.getBackend() === 'webgpu' && oneNormForm([finer.norm, coarser.norm]) && hasKernel(SCALE_PATHS)) {
    const attrs: ScalePathsAttrs = { groups: finer.norm.groups, eps: finer.norm.eps ?? 1e-5, pyramid: layout, affine };
    const inputs: tf.NamedTensorMap = { x, ...pathInputs(finer, coarser) };
    const out = tf.engine().runKernel(SCALE_PATHS, inputs, attrs as unknown as tf.NamedAttrMap);
    if (!affine) return { maps: out as tf.Tensor2D };
    const [maps, scaleShift] = out as unknown as [tf.Tensor2D, tf.Tensor3D];
    return { maps, affine: scaleShift };
  }
  return { maps: tf.tidy(() => concatRows([depthwiseNormPyramid(x, layout, 0, layout.sizes.length - 1, finer), depthwiseNormPyramid(x, layout, 1, layout.sizes.length, coarser)])) };
}

/**
 * A scale node's two paths over a packed pyramid of P rows: `maps`, scalePathsPyramid's output
 * (the finer path on levels 0 .. L-2, then the coarser on 1 .. L-1), and `gates` [2P, 1], each
 * path's gate over every level, the finer's first (activatedGateConvsPyramid of the two gates).
 */
export interface ScalePaths {
  maps: tf.Tensor2D;
  gates: tf.Tensor2D;
  /**
   * with maps as the paths' convs before GroupNorm (scalePathsToBlend): its scale and shift [runs,
   * 2, C] (with statsHeadRows, [statsHeadRows + 2 runs, C])
   */
  affine?: tf.Tensor;
  /**
   * in place of `affine` (scalePathsWithGates, webgpu knob blendCombines): the paths' GroupNorm as
   * its chunk sums per (run, group), from which the blend works out each run's scale and shift, and
   * the two paths' norm parameters
   */
  statistics?: { partials: tf.Tensor; finer: GroupNormParams; coarser: GroupNormParams };
  /** rows of C values ahead of the paths in `maps` (scalePathsWithGates: the gates', a vec4 each); default 0 */
  headRows?: number;
  /** rows of C values ahead of the values in `affine` or `statistics.partials` (scalePathsWithGates: the gates', one value each); default 0 */
  statsHeadRows?: number;
}

/**
 * scalePathsToBlend of a scale node's paths with their two gates (activatedGateConvsPyramid of
 * `gates`, the finer's first) in `gates`. On webgpu, where the blend normalises the paths and the
 * tuning takes them together (pathGatesWithPaths), one program writes the gates and the paths' convs
 * from one read of x (a dispatch and a pass over x fewer than the gate conv and scalePathsToBlend):
 * `maps` then holds the paths from row `headRows` on, `affine` (or `statistics.partials`) its values
 * from row `statsHeadRows` on, and `gates` is a second tensor of that small buffer (its first values).
 * `firstRow`: x holds the pyramid from that row on (two towers' maps stacked; the program reads
 * them where they lie, elsewhere they are copied out). Inference only.
 */
export function scalePathsWithGates(
  x: tf.Tensor2D,
  layout: PyramidLayout,
  finer: DepthwiseNormLayer,
  coarser: DepthwiseNormLayer,
  gates: [GateConvParams, GateConvParams],
  activation: ConvActivation,
  firstRow = 0,
): ScalePaths {
  const op = 'scalePathsWithGates';
  const c = checkGatedScalePaths(op, x, layout, finer, coarser, gates, firstRow);
  const fused = tf.getBackend() === 'webgpu' && hasKernel(SCALE_PATHS_GATES) && webgpuTuningFlag('blendNormalizes') && webgpuTuningFlag('pathGatesWithPaths');
  if (!(fused && c % 4 === 0 && oneNormForm([finer.norm, coarser.norm]))) {
    const own = pyramidRowsFrom(x, layout, firstRow);
    try {
      const g = activatedGateConvsPyramid(own, layout, gates, activation);
      return { ...scalePathsToBlend(own, layout, finer, coarser), gates: g };
    } finally {
      if (own !== x) own.dispose();
    }
  }
  // the blend works out the scale and shift from the sums where a group's channels come in fours
  const sums = webgpuTuningFlag('blendCombines') && blendCombinesFor(c, finer.norm.groups);
  const attrs: ScalePathsGatesAttrs = { groups: finer.norm.groups, eps: finer.norm.eps ?? 1e-5, pyramid: layout, activation: activation.wgsl, sums, xRow0: firstRow };
  const inputs: tf.NamedTensorMap = { x, gateFilter: gates[0].filter, gateBias: gates[0].bias, gateFilter1: gates[1].filter, gateBias1: gates[1].bias, ...pathInputs(finer, coarser) };
  const [maps, g, stats] = tf.engine().runKernel(SCALE_PATHS_GATES, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  const heads = { headRows: pathGateRows(layout, c), statsHeadRows: carriedGateRows(layout, c) };
  if (sums) return { maps, gates: g, statistics: { partials: stats, finer: finer.norm, coarser: coarser.norm }, ...heads };
  return { maps, gates: g, affine: stats, ...heads };
}

/**
 * A scale node's combine for every level of a packed pyramid x [P, C]: level l is
 * `x_l * xWeight + (finer_{l-1} * its gate + coarser_{l+1} * its gate, each resized bilinearly
 * with align corners to level l) * sourceWeight`, the paths and gates as `paths` holds them. As
 * blendResized of each level with the gated paths would give it; one dispatch on webgpu, level
 * by level elsewhere. `firstRow`: x holds the pyramid from that row on (as scalePathsWithGates
 * takes it). Inference only.
 */
export function blendPyramid(x: tf.Tensor2D, layout: PyramidLayout, xWeight: tf.Tensor, paths: ScalePaths, sourceWeight: tf.Tensor, firstRow = 0): tf.Tensor2D {
  const op = 'blendPyramid';
  const levels = layout.sizes.length;
  if (levels < 2) throw new Error(`${op}: a pyramid of at least two levels, got ${levels}`);
  const c = x.shape[1];
  checkPackedFrom(op, 'x', x, layout, firstRow, c);
  const mapsLayout = scalePathsLayout(layout);
  const mapRows = pyramidRows(mapsLayout);
  const rows = pyramidRows(layout);
  const pathsRow = paths.headRows ?? 0;
  if (paths.maps.rank !== 2 || paths.maps.shape[0] !== pathsRow + mapRows || paths.maps.shape[1] !== c) {
    const from = pathsRow > 0 ? ` from row ${pathsRow}` : '';
    throw new Error(`${op}: paths.maps has shape [${paths.maps.shape.join(',')}]; this layout's two paths are [${mapRows},${c}]${from} (levels 0..${levels - 2}, then 1..${levels - 1})`);
  }
  if (paths.gates.rank !== 2 || paths.gates.shape[0] !== 2 * rows || paths.gates.shape[1] !== 1) {
    throw new Error(`${op}: paths.gates has shape [${paths.gates.shape.join(',')}]; two gates of this layout are [${2 * rows},1]`);
  }
  if (xWeight.size !== 1 || sourceWeight.size !== 1) {
    throw new Error(`${op}: xWeight [${xWeight.shape.join(',')}] and sourceWeight [${sourceWeight.shape.join(',')}] must hold one value each`);
  }
  const onDevice = tf.getBackend() === 'webgpu' && hasKernel(BLEND_PYRAMID);
  if ((paths.affine || paths.statistics) && !onDevice) throw new Error(`${op}: paths.${paths.affine ? 'affine' : 'statistics'} (scalePathsToBlend's or scalePathsWithGates's, on webgpu) needs webgpu's blend kernel, not ${tf.getBackend()}'s`);
  if (onDevice) {
    const inputs: tf.NamedTensorMap = { x, xWeight, paths: paths.maps, gates: paths.gates, sourceWeight, ...(paths.affine ? { affine: paths.affine } : {}) };
    const attrs: BlendPyramidAttrs = { pyramid: layout, headRows: pathsRow, statsHeadRows: paths.statsHeadRows ?? 0, xRow0: firstRow };
    const stats = paths.statistics;
    if (stats) {
      const [eps, eps1] = [stats.finer.eps ?? 1e-5, stats.coarser.eps ?? 1e-5];
      if (stats.finer.groups !== stats.coarser.groups || eps !== eps1) throw new Error(`${op}: paths.statistics need one GroupNorm form for both paths, got groups ${stats.finer.groups} and ${stats.coarser.groups}, eps ${eps} and ${eps1}`);
      Object.assign(inputs, { partials: stats.partials, gamma: stats.finer.gamma, beta: stats.finer.beta, gamma1: stats.coarser.gamma, beta1: stats.coarser.beta });
      Object.assign(attrs, { groups: stats.finer.groups, eps });
    }
    return tf.engine().runKernel(BLEND_PYRAMID, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
  }
  return tf.tidy(() => {
    const xs = unpackPyramid(pyramidRowsFrom(x, layout, firstRow), layout);
    // the finer path's levels 0 .. L-2 then the coarser's 1 .. L-1; each gate's levels 0 .. L-1
    const maps = unpackPyramid(pathsRow > 0 ? tf.slice(paths.maps, [pathsRow, 0], [mapRows, c]) : paths.maps, mapsLayout);
    const gates = unpackPyramid(paths.gates, stackedLayout(layout, layout));
    const gated = maps.map((m, i) => tf.mul(m, gates[i < levels - 1 ? i : i + 2]) as tf.Tensor4D);
    const [fine, coarse] = [gated.slice(0, levels - 1), gated.slice(levels - 1)];
    const ys = xs.map((level, l) => {
      const sources = [...(l > 0 ? [fine[l - 1]] : []), ...(l < levels - 1 ? [coarse[l]] : [])];
      return blendResized(level, xWeight, sources, sourceWeight);
    });
    return packPyramid(ys);
  });
}

/** One tower's scale node as scaleNodeTowers takes it: its two paths, their gates, and the blend's weights. */
export interface ScaleNodeWeights {
  finer: DepthwiseNormLayer;
  coarser: DepthwiseNormLayer;
  /** the finer path's gate, then the coarser's */
  gates: [GateConvParams, GateConvParams];
  /** [1] each: the blend's weight of its input and of the gathered paths (blendPyramid's xWeight and sourceWeight) */
  xWeight: tf.Tensor;
  sourceWeight: tf.Tensor;
}

/**
 * Whether scaleNodeTowers runs these two scale nodes (of maps of `channels`) as one set of
 * dispatches here, not tower by tower: on webgpu where the tuning merges them (a GPU's: knob
 * mergeScaleNodes) and the paths' gates come with their convs (pathGatesWithPaths,
 * blendNormalizes), channels in fours and one GroupNorm form (groups, eps) for all four paths.
 */
export function scaleNodeTowersAtOnce(nodes: [ScaleNodeWeights, ScaleNodeWeights], channels: number): boolean {
  const oneNorm = oneNormForm([nodes[0].finer.norm, nodes[0].coarser.norm, nodes[1].finer.norm, nodes[1].coarser.norm]);
  const tuned = tf.getBackend() === 'webgpu' && hasKernel(SCALE_NODE_TOWERS) && (['mergeScaleNodes', 'blendNormalizes', 'pathGatesWithPaths'] as const).every((k) => webgpuTuningFlag(k));
  return tuned && oneNorm && channels % 4 === 0;
}

/**
 * The same scale node of two towers (block i of each), each on its own input: scalePathsWithGates
 * and blendPyramid of both. x holds tower t's input pyramid from row firstRows[t] on (the features,
 * read by both: [0, 0]; both towers' maps stacked: [0, P]). -> `output` [2P, C], tower 0's blend
 * then tower 1's (both towers' maps stacked, as the next block and sparseConvPairTowers take them),
 * and `gates` [4P, 1], tower 0's finer and coarser path gate then tower 1's (to be charged and
 * recorded). Where scaleNodeTowersAtOnce says so, three dispatches for both towers (four where the
 * paths' GroupNorm needs its combine program) and no copies; elsewhere tower by tower, and copies
 * that stack both towers' blends and gates (a caller that charges each tower's gates itself does
 * better to run the towers' scale nodes on their own there). Inference only.
 */
export function scaleNodeTowers(x: tf.Tensor2D, layout: PyramidLayout, nodes: [ScaleNodeWeights, ScaleNodeWeights], activation: ConvActivation, firstRows: [number, number]): { output: tf.Tensor2D; gates: tf.Tensor2D } {
  const op = 'scaleNodeTowers';
  const c = x.shape[1];
  if (!Array.isArray(firstRows) || firstRows.length !== 2) throw new Error(`${op}: firstRows must be two rows (one a tower), got ${JSON.stringify(firstRows)}`);
  for (const [t, n] of nodes.entries()) {
    checkGatedScalePaths(`${op} (tower ${t})`, x, layout, n.finer, n.coarser, n.gates, firstRows[t]);
    if (n.xWeight.size !== 1 || n.sourceWeight.size !== 1) throw new Error(`${op}: nodes[${t}].xWeight [${n.xWeight.shape.join(',')}] and sourceWeight [${n.sourceWeight.shape.join(',')}] must hold one value each`);
  }
  if (!scaleNodeTowersAtOnce(nodes, c)) {
    return tf.tidy(() => {
      const each = nodes.map((n, t) => {
        const paths = scalePathsWithGates(x, layout, n.finer, n.coarser, n.gates, activation, firstRows[t]);
        return { y: blendPyramid(x, layout, n.xWeight, paths, n.sourceWeight, firstRows[t]), gates: paths.gates };
      });
      return { output: concatRows(each.map((e) => e.y)), gates: concatRows(each.map((e) => e.gates)) };
    });
  }
  const inputs: tf.NamedTensorMap = { x };
  for (const [t, n] of nodes.entries()) {
    // SCALE_NODE_INPUTS's order
    const own = [n.gates[0].filter, n.gates[0].bias, n.gates[1].filter, n.gates[1].bias, n.finer.filter, n.finer.bias, n.finer.norm.gamma, n.finer.norm.beta, n.coarser.filter, n.coarser.bias, n.coarser.norm.gamma, n.coarser.norm.beta, n.xWeight, n.sourceWeight];
    const names = t === 0 ? SCALE_NODE_INPUTS : SCALE_NODE_INPUTS_TOWER1;
    for (const [i, v] of own.entries()) inputs[names[i]] = v;
  }
  const { groups, eps = 1e-5 } = nodes[0].finer.norm;
  const sums = webgpuTuningFlag('blendCombines') && blendCombinesFor(c, groups);
  const attrs: ScaleNodeTowersAttrs = { groups, eps, pyramid: layout, activation: activation.wgsl, xRows: firstRows, sums };
  const [output, gates] = tf.engine().runKernel(SCALE_NODE_TOWERS, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor2D, tf.Tensor2D];
  return { output, gates };
}
