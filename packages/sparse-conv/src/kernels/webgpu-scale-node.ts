import type * as tf from '@tensorflow/tfjs-core';
import { GroupNormCombineProgram } from './group-norm-statistics-programs';
import { groupNormLanes } from './group-norm-snippets';
import { DepthwiseMapProgram } from './depthwise-map-program';
import { SCALE_NODE_INPUTS, SCALE_NODE_INPUTS_TOWER1, type BlendPyramidAttrs, type ScaleNodeTowersAttrs, type ScalePathsAttrs, type ScalePathsGatesAttrs } from './kernel-names';
import { type PyramidLayout, pyramidRows, scalePathsLayout, segmentRowStarts, stackedLayout } from '../pyramid';
import { type BlendStatistics, BlendPyramidProgram } from './blend-pyramid-program';
import { carriedGateRows, pathGateRows, ScalePathsGatesProgram } from './scale-paths-gates-program';
import { type WebGPUBackendLike, runProgram, asPixelMap } from './webgpu-backend';
import { cachedPack, keptTowerPacks } from './kept-buffers';
import { deviceTuning } from './webgpu-tuning';
import { groupNormOnGpu, groupNormAffineOnGpu, groupNormSums, chunksOfPartials } from './webgpu-group-norm';

/** The (level, image) runs of one scale path of a pyramid: levels 0 .. L-2 (or 1 .. L-1) of each image. */
function pathRuns(pyramid: PyramidLayout): number {
  return (pyramid.sizes.length - 1) * pyramid.batch;
}

/**
 * Where the paths' statistics find their rows in ScalePathsGatesProgram's output for `towers` scale
 * nodes: the gates' head (gateRows, its gateValues, carried one value each into statsHeadRows of the
 * statistics' buffer), then each path's (level, image) runs, tower 0's first (starts).
 */
function pathsOutputRows(pyramid: PyramidLayout, c: number, towers: 1 | 2): { gateRows: number; gateValues: number; statsHeadRows: number; starts: number[] } {
  const gateRows = pathGateRows(pyramid, c, towers);
  const pathsLayout = scalePathsLayout(pyramid);
  const runsLayout = towers === 2 ? stackedLayout(pathsLayout, pathsLayout) : pathsLayout;
  return {
    gateRows,
    gateValues: 2 * towers * pyramidRows(pyramid),
    statsHeadRows: carriedGateRows(pyramid, c, towers),
    starts: segmentRowStarts(runsLayout).map((s) => s + gateRows),
  };
}

/** SCALE_PATHS on a webgpu backend: both paths' depthwise convs in one map, then one GroupNorm over its runs (or its statistics alone, for a blend that normalises as it samples). */
export function scalePathsOnGpu(be: WebGPUBackendLike, inputs: tf.NamedTensorInfoMap, attrs: ScalePathsAttrs): tf.TensorInfo | tf.TensorInfo[] {
  const { x, filter, filter1, bias, bias1, gamma, gamma1, beta, beta1 } = inputs as Record<string, tf.TensorInfo>;
  const { groups, eps, pyramid, affine = false } = attrs;
  const tuning = deviceTuning(be);
  const pixelMap = asPixelMap(x);
  // both paths' convs, with their biases, in one map; then one GroupNorm over its runs, the second path's with its own norm
  const program = new DepthwiseMapProgram(pixelMap.shape, groupNormLanes(x.shape[1], groups), tuning.depthwiseMapPixels, tuning.channelQuads, undefined, pyramid);
  const map = runProgram(be, program, [pixelMap, filter, filter1, bias, bias1], 'float32');
  // runs: path 0's (level, image) runs on levels 0 .. L-2, then path 1's
  const firstRun = pathRuns(pyramid);
  const starts = segmentRowStarts(scalePathsLayout(pyramid));
  // the blend normalises as it samples: the statistics alone, the map as its convs
  if (affine) return [map, groupNormAffineOnGpu(be, map, starts, { gamma, beta, second: { gamma: gamma1, beta: beta1, firstRun } }, { groups, eps })];
  const out = groupNormOnGpu(be, map, map.shape, starts, { gamma, beta, second: { gamma: gamma1, beta: beta1, firstRun } }, { groups, eps, relu: false });
  be.disposeData(map.dataId);
  return out;
}

/** SCALE_PATHS_GATES on a webgpu backend: the paths with their two gates in one program, then the paths' statistics with the gates carried ahead of them. */
export function scalePathsGatesOnGpu(be: WebGPUBackendLike, inputs: tf.NamedTensorInfoMap, attrs: ScalePathsGatesAttrs): tf.TensorInfo[] {
  const { x, gateFilter, gateFilter1, gateBias, gateBias1, filter, filter1, bias, bias1, gamma, gamma1, beta, beta1 } = inputs as Record<string, tf.TensorInfo>;
  const { groups, eps, pyramid, activation, sums = false, xRow0 = 0 } = attrs;
  const { gatePixels, gateLanes } = deviceTuning(be);
  const c = x.shape[1];
  // the paths' biases, then the gates' two and two zeros: a last vec4
  const biases = cachedPack(be, [bias, bias1, gateBias, gateBias1], 2 * c + 4);
  const out = runProgram(be, new ScalePathsGatesProgram(pyramid, c, activation, gatePixels, gateLanes, xRow0), [asPixelMap(x), gateFilter, gateFilter1, filter, filter1, biases], 'float32');
  // the paths' runs as SCALE_PATHS numbers them, from the rows after the gates' on
  const { gateValues, statsHeadRows, starts } = pathsOutputRows(pyramid, c, 1);
  const firstRun = pathRuns(pyramid);
  // the gates, a vec4 each in out's head, carried one value each
  const carry = { input: out, values: gateValues, rows: statsHeadRows, stride: 4 };
  // the gates carried into a small buffer, ahead of the paths' statistics: their charge (kept to
  // the pass's end) then holds that buffer alive, not the maps'. With `sums` the blend works out
  // the scale and shift from the chunk sums itself (a dispatch fewer); else the combine does.
  const stats = sums ? groupNormSums(be, out, starts, { groups, carry }).partials : groupNormAffineOnGpu(be, out, starts, { gamma, beta, second: { gamma: gamma1, beta: beta1, firstRun }, carry }, { groups, eps });
  be.incRef(stats.dataId);
  const gates: tf.TensorInfo = { dataId: stats.dataId, shape: [gateValues, 1], dtype: 'float32' };
  return [out, gates, stats];
}

/** SCALE_NODE_TOWERS on a webgpu backend: one scale node of both towers, as one set of programs (the paths with their gates, their statistics, the blend). */
export function scaleNodeTowersOnGpu(be: WebGPUBackendLike, inputs: tf.NamedTensorInfoMap, attrs: ScaleNodeTowersAttrs): tf.TensorInfo[] {
  const { groups, eps, pyramid, activation, xRows, sums } = attrs;
  const x = inputs.x as tf.TensorInfo;
  const c = x.shape[1];
  // input i of tower t (SCALE_NODE_INPUTS's order)
  const towerInputs = [SCALE_NODE_INPUTS, SCALE_NODE_INPUTS_TOWER1].map((names) => names.map((n) => inputs[n] as tf.TensorInfo));
  const at = (name: (typeof SCALE_NODE_INPUTS)[number]) => SCALE_NODE_INPUTS.indexOf(name);
  // these weights of both towers, tower by tower: one buffer (a stage binds at most 8)
  const towerOrder = (...names: (typeof SCALE_NODE_INPUTS)[number][]) => towerInputs.flatMap((own) => names.map((n) => own[at(n)]));
  // each weight of both towers, tower 0's first
  const pack = (name: (typeof SCALE_NODE_INPUTS)[number]) => cachedPack(be, towerInputs.map((own) => own[at(name)]), undefined, keptTowerPacks);
  const { gatePixels, gateLanes, channelQuads } = deviceTuning(be);
  const towers = { xRow1: xRows[1] };
  // the paths' biases, tower by tower, then the four gate biases: a last vec4 (packed first: a
  // pack takes at most 7 vectors)
  const gateBiases = cachedPack(be, towerOrder('gateBias', 'gateBias1'), undefined, keptTowerPacks);
  const biases = cachedPack(be, [...towerOrder('bias', 'bias1'), gateBiases], undefined, keptTowerPacks);
  const program = new ScalePathsGatesProgram(pyramid, c, activation, gatePixels, gateLanes, xRows[0], towers);
  const paths = runProgram(be, program, [asPixelMap(x), pack('gateFilter'), pack('gateFilter1'), pack('filter'), pack('filter1'), biases], 'float32');
  // both towers' paths' runs, tower 0's first, after the four gates' head
  const { gateRows, gateValues, statsHeadRows, starts } = pathsOutputRows(pyramid, c, 2);
  const carry = { values: gateValues, rows: statsHeadRows, stride: 4 };
  // the four paths' norms (each tower's finer and coarser), as one tower's blend packs its two, then both
  const towerNorms = towerInputs.map((own) => cachedPack(be, [own[at('gamma')], own[at('beta')], own[at('gamma1')], own[at('beta1')]]));
  const norms = cachedPack(be, towerNorms, undefined, keptTowerPacks);
  // the paths' statistics, the gates carried one value each into their head: the chunk sums,
  // from which the blend works out the norm (sums), or each run's scale and shift (a combine
  // taking the four norms in turn, every (L-1)B runs)
  let stats: tf.TensorInfo;
  let statistics: BlendStatistics | undefined;
  if (sums) {
    stats = groupNormSums(be, paths, starts, { groups, carry }).partials;
    statistics = { groups, eps, chunks: chunksOfPartials(stats, statsHeadRows, c, starts.length - 1, groups) };
  } else {
    const { partials, stats: o } = groupNormSums(be, paths, starts, { groups, pairRun: pathRuns(pyramid) });
    stats = runProgram(be, new GroupNormCombineProgram(starts.length - 1, c, eps, { ...o, normSets: 4 }, true, carry), [partials, norms, paths], 'float32');
    be.disposeData(partials.dataId);
  }
  const gates: tf.TensorInfo = { dataId: stats.dataId, shape: [gateValues, 1], dtype: 'float32' };
  const blend = new BlendPyramidProgram(pyramid, c, channelQuads, true, { paths: gateRows, stats: statsHeadRows }, statistics, xRows[0], towers);
  const output = runProgram(be, blend, [x, pack('xWeight'), paths, gates, pack('sourceWeight'), stats, ...(sums ? [norms] : [])], 'float32');
  be.disposeData(paths.dataId);
  // the statistics' small buffer goes on as the gates (their charge keeps it to the pass's end)
  return [output, gates];
}

/** BLEND_PYRAMID on a webgpu backend: the scale node's blend of one tower, its paths normalised as it samples them (from a combine's scale and shift, or worked out from their chunk sums). */
export function blendPyramidOnGpu(be: WebGPUBackendLike, inputs: tf.NamedTensorInfoMap, attrs: BlendPyramidAttrs): tf.TensorInfo {
  const { x, xWeight, paths, gates, sourceWeight, affine, partials, gamma, beta, gamma1, beta1 } = inputs as Record<string, tf.TensorInfo>;
  const { pyramid, headRows = 0, statsHeadRows = 0, groups, eps, xRow0 = 0 } = attrs;
  const c = x.shape[1];
  const { channelQuads } = deviceTuning(be);
  if (partials) {
    // the paths' GroupNorm worked out from their sums here
    const chunks = chunksOfPartials(partials, statsHeadRows, c, 2 * pathRuns(pyramid), groups as number);
    const program = new BlendPyramidProgram(pyramid, c, channelQuads, true, { paths: headRows, stats: statsHeadRows }, { groups: groups as number, eps: eps as number, chunks }, xRow0);
    const norms = cachedPack(be, [gamma, beta, gamma1, beta1]);
    return runProgram(be, program, [x, xWeight, paths, gates, sourceWeight, partials, norms], 'float32');
  }
  const program = new BlendPyramidProgram(pyramid, c, channelQuads, affine !== undefined, { paths: headRows, stats: statsHeadRows }, undefined, xRow0);
  return runProgram(be, program, [x, xWeight, paths, gates, sourceWeight, ...(affine ? [affine] : [])], 'float32');
}
