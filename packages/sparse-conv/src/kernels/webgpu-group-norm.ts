import type * as tf from '@tensorflow/tfjs-core';
import type { ListPart } from './compact-conv-program';
import { GatedResidualProgram } from './gated-residual-program';
import { CHUNK_ROWS, type GateCarry, groupNormLanes, type GroupNormSource } from './group-norm-snippets';
import { GroupNormApplyProgram, GroupNormOnePassProgram, GroupNormNormalizeProgram, groupNormNormalizes, groupNormFits } from './group-norm-programs';
import { GroupNormCombineProgram, GroupNormPartialsProgram } from './group-norm-statistics-programs';
import { DepthwiseMapProgram } from './depthwise-map-program';
import type { CompactGroupNormAttrs } from './kernel-names';
import { type WebGPUBackendLike, runProgram } from './webgpu-backend';
import { cachedPack, rowStarts } from './kept-buffers';
import { deviceTuning } from './webgpu-tuning';

/**
 * GroupNorm of a map's rows (last axis C) in one dispatch where every run fits in one chunk of
 * rows, else three: partial sums per (chunk, group, run), their combine into each channel's affine
 * form, then the apply pass. Run b (an image, or a packed pyramid's (level, image)) is rows
 * starts[b] .. starts[b+1]-1 of the map; the map is x read as [R, C], or (with `list`) x's
 * compacted rows expanded through the list, or (with `depthwiseFilter`) the depthwise 3x3 conv of
 * the map x. With a mask only its rows > 0 enter the
 * statistics and the others come out as exact 0 (the compact form: rows the list has); with
 * `residual` the output is the depth node's ReLU(input + gate * y).
 */
export function groupNormOnGpu(
  be: WebGPUBackendLike,
  x: tf.TensorInfo,
  outShape: number[],
  starts: number[],
  params: {
    gamma: tf.TensorInfo;
    beta: tf.TensorInfo;
    bias?: tf.TensorInfo;
    rowScale?: tf.TensorInfo;
    mask?: tf.TensorInfo;
    list?: { list: tf.TensorInfo; part: ListPart };
    depthwiseFilter?: tf.TensorInfo;
    residual?: { input: tf.TensorInfo; gate: tf.TensorInfo };
    /** a second set of norm parameters for the runs from firstRun on (the scale node's two paths) */
    second?: { gamma: tf.TensorInfo; beta: tf.TensorInfo; firstRun: number };
  },
  opts: { groups: number; eps: number; relu: boolean },
): tf.TensorInfo {
  const { gamma, beta, bias, rowScale, mask, list, depthwiseFilter, residual, second } = params;
  const c = x.shape[x.shape.length - 1];
  // the depthwise source reads x as the map it convolves; the others as rows
  const map: tf.TensorInfo = depthwiseFilter ? x : { ...x, shape: [x.shape.reduce((a, v) => a * v, 1) / c, c] };
  const source: GroupNormSource = depthwiseFilter ? 'depthwise' : list ? { compact: list.part } : 'rows';
  const batch = starts.length - 1;
  const tuning = deviceTuning(be);
  const stats = statisticsOptions(be, c, opts.groups, batch, { bias: bias !== undefined, masked: mask !== undefined || list !== undefined, source, listed: list !== undefined, pairRun: second?.firstRun });
  const post = { relu: opts.relu, rowScale: rowScale !== undefined, residual: residual !== undefined };
  if (residual && !groupNormFits(stats, post)) {
    // a gated residual that does not fit in the programs' bindings: its own dispatch after the GN
    const y = groupNormOnGpu(be, x, outShape, starts, { ...params, residual: undefined }, opts);
    const out = runProgram(be, new GatedResidualProgram(outShape), [y, residual.input, residual.gate], 'float32');
    be.disposeData(y.dataId);
    return out;
  }
  const longest = longestRun(starts);
  const chunks = chunksFor(longest);
  if (depthwiseFilter && longest > tuning.depthwiseMapRows) {
    // a big map: its depthwise conv written once, then GroupNorm of the rows
    const dw = runProgram(be, new DepthwiseMapProgram(x.shape, stats.lanes, tuning.depthwiseMapPixels, tuning.channelQuads), [x, depthwiseFilter], 'float32');
    const out = groupNormOnGpu(be, dw, outShape, starts, { ...params, depthwiseFilter: undefined }, opts);
    be.disposeData(dw.dataId);
    return out;
  }
  const startsInfo = rowStarts(be, starts);
  // in the order of the programs' sourceVariables and applyVariables
  const sourceInputs = list ? [list.list] : [...(depthwiseFilter ? [depthwiseFilter] : []), ...(mask ? [mask] : [])];
  const applied = [...(rowScale ? [rowScale] : []), ...(residual ? [residual.gate, residual.input] : [])];
  const norm = pairedNorm(be, gamma, beta, second);
  let out: tf.TensorInfo;
  if (chunks === 1) {
    const program = new GroupNormOnePassProgram(outShape, batch, opts.eps, post, stats);
    out = runProgram(be, program, [map, startsInfo, ...(bias ? [bias] : []), ...sourceInputs, ...norm, ...applied], 'float32');
  } else {
    const partials = runProgram(be, new GroupNormPartialsProgram(batch, chunks, stats), [map, startsInfo, ...(bias ? [bias] : []), ...sourceInputs], 'float32');
    if (tuning.normalizeInOne && groupNormNormalizes(stats, post, batch)) {
      const normalize = new GroupNormNormalizeProgram(outShape, starts, opts.eps, post, stats, tuning.normalizeQuads);
      out = runProgram(be, normalize, [map, partials, ...norm, ...(bias ? [bias] : []), ...applied, ...sourceInputs], 'float32');
      be.disposeData(partials.dataId);
      return out;
    }
    const combine = new GroupNormCombineProgram(batch, c, opts.eps, stats);
    const affine = runProgram(be, combine, [partials, ...norm, ...(bias ? [bias] : [])], 'float32');
    be.disposeData(partials.dataId);
    const apply = new GroupNormApplyProgram(outShape, post, stats.masked, stats.source, stats.lanes, tuning.channelQuads);
    out = runProgram(be, apply, [map, affine, startsInfo, ...applied, ...sourceInputs], 'float32');
    be.disposeData(affine.dataId);
  }
  return out;
}

/**
 * GroupNorm's statistics of x [R, C] as each run's scale and shift [runs, 2, C]
 * (GroupNormCombineProgram's scaleShift form), for a program that applies them as it reads x: a
 * conv staging its input (GemmConvOptions.inputAffine; x then a compacted conv's rows written
 * scattered, at their pixels, and listed by `list`), or the scale node's blend sampling its paths
 * (`second`: the runs from firstRun on take the second path's norm). No pass writes the normalised
 * map. Two dispatches: the partial sums (over the active rows, when listed), the combine.
 */
export function groupNormAffineOnGpu(
  be: WebGPUBackendLike,
  x: tf.TensorInfo,
  starts: number[],
  params: {
    gamma: tf.TensorInfo;
    beta: tf.TensorInfo;
    bias?: tf.TensorInfo;
    list?: { list: tf.TensorInfo; part: ListPart };
    second?: { gamma: tf.TensorInfo; beta: tf.TensorInfo; firstRun: number };
    /** values of `input` copied ahead of the output (GroupNormCombineProgram's carry) */
    carry?: GateCarry & { input: tf.TensorInfo };
  },
  opts: { groups: number; eps: number },
): tf.TensorInfo {
  const { gamma, beta, bias, list, second, carry } = params;
  const c = x.shape[x.shape.length - 1];
  const { partials, stats } = groupNormSums(be, x, starts, { groups: opts.groups, bias, list, pairRun: second?.firstRun });
  const norm = pairedNorm(be, gamma, beta, second);
  const program = new GroupNormCombineProgram(starts.length - 1, c, opts.eps, stats, true, carry);
  const affine = runProgram(be, program, [partials, ...norm, ...(bias ? [bias] : []), ...(carry ? [carry.input] : [])], 'float32');
  be.disposeData(partials.dataId);
  return affine;
}

/**
 * GroupNormPartialsProgram over runs `starts` of a map of rows (or of a list's rows): its sums and
 * the statistics options it took. Alone (no combine) for a reader that combines the chunk sums
 * itself (the scale node's blend), with `carry` (values of x ahead of its rows) copied ahead.
 */
export function groupNormSums(
  be: WebGPUBackendLike,
  x: tf.TensorInfo,
  starts: number[],
  o: { groups: number; bias?: tf.TensorInfo; list?: { list: tf.TensorInfo; part: ListPart }; pairRun?: number; carry?: GateCarry },
): { partials: tf.TensorInfo; stats: StatisticsOptions } {
  const { bias, list, carry } = o;
  const c = x.shape[x.shape.length - 1];
  const map: tf.TensorInfo = { ...x, shape: [x.shape.reduce((a, v) => a * v, 1) / c, c] };
  const batch = starts.length - 1;
  const source: GroupNormSource = list ? { compact: list.part, scattered: true } : 'rows';
  const stats = statisticsOptions(be, c, o.groups, batch, { bias: bias !== undefined, masked: list !== undefined, source, listed: list !== undefined, pairRun: o.pairRun });
  const chunks = chunksFor(longestRun(starts));
  const program = new GroupNormPartialsProgram(batch, chunks, stats, carry && { ...carry, channels: c });
  const partials = runProgram(be, program, [map, rowStarts(be, starts), ...(bias ? [bias] : []), ...(list ? [list.list] : [])], 'float32');
  return { partials, stats };
}

/**
 * The chunks of each (run, group) in GroupNormPartialsProgram's sums [headRows * C / 4 + runs *
 * groups * chunks, 4] (headRows of C values carried ahead of them): from the sums' size.
 */
export function chunksOfPartials(partials: tf.TensorInfo, headRows: number, channels: number, runs: number, groups: number): number {
  return (partials.shape[0] - (headRows * channels) / 4) / (runs * groups);
}

/** A compact GroupNorm kernel's second set of norm parameters (inputs gamma1, beta1; attrs.pairRun), checked; undefined without one. */
export function secondNorm(kernel: string, inputs: tf.NamedTensorInfoMap, attrs: CompactGroupNormAttrs): { gamma: tf.TensorInfo; beta: tf.TensorInfo; firstRun: number } | undefined {
  const { gamma1, beta1 } = inputs as { gamma1?: tf.TensorInfo; beta1?: tf.TensorInfo };
  const { pairRun } = attrs;
  if (!gamma1 && !beta1 && pairRun === undefined) return undefined;
  if (!gamma1 || !beta1 || pairRun === undefined) throw new Error(`${kernel}: a second norm takes gamma1, beta1 and attrs.pairRun together; got ${[gamma1 && 'gamma1', beta1 && 'beta1', pairRun !== undefined && 'pairRun'].filter(Boolean).join(', ')}`);
  if (!Number.isInteger(pairRun) || pairRun < 0) throw new Error(`${kernel}: attrs.pairRun must be a run index (a whole number >= 0), got ${pairRun}`);
  for (const [name, t] of [['gamma1', gamma1], ['beta1', beta1]] as const) {
    const g = inputs.gamma as tf.TensorInfo;
    if (t.shape.join(',') !== g.shape.join(',')) throw new Error(`${kernel}: ${name} has shape [${t.shape.join(',')}]; gamma's is [${g.shape.join(',')}]`);
  }
  return { gamma: gamma1, beta: beta1, firstRun: pairRun };
}

/** GroupNorm's parameter buffers (group-norm-snippets.ts's normParams): Gamma and Beta, or with a second set all four in one. */
export function pairedNorm(be: WebGPUBackendLike, gamma: tf.TensorInfo, beta: tf.TensorInfo, second?: { gamma: tf.TensorInfo; beta: tf.TensorInfo }): tf.TensorInfo[] {
  return second ? [cachedPack(be, [gamma, beta, second.gamma, second.beta])] : [gamma, beta];
}

/** Row offsets of images with `counts` rows each: [0, c0, c0 + c1, ...]. */
export function startsOf(counts: number[]): number[] {
  const starts = [0];
  for (const n of counts) starts.push(starts[starts.length - 1] + n);
  return starts;
}

/** Row offsets of the images of a map [B,H,W,C], a row per pixel. */
export function mapStarts([b, h, w]: number[]): number[] {
  return startsOf(new Array<number>(b).fill(h * w));
}

type StatisticsOptions = ConstructorParameters<typeof GroupNormPartialsProgram>[2];

/** The statistics programs' options for runs of C channels in `groups` groups, on this device. */
function statisticsOptions(
  be: WebGPUBackendLike,
  c: number,
  groups: number,
  runs: number,
  o: { bias: boolean; masked: boolean; source: GroupNormSource; listed: boolean; pairRun?: number },
): StatisticsOptions {
  const { bias, masked, source, listed, pairRun } = o;
  return { groups, bias, masked, source, lanes: groupNormLanes(c, groups), activeRows: listed, segmented: runs > 1, threads: deviceTuning(be).statsThreads, pairRun };
}

/** The rows of the longest of runs `starts`. */
function longestRun(starts: number[]): number {
  return Math.max(...starts.slice(1).map((end, b) => end - starts[b]));
}

/** Chunks of CHUNK_ROWS rows a run of `longest` rows takes: the statistics' chunks per (run, group). */
function chunksFor(longest: number): number {
  return Math.max(1, Math.ceil(longest / CHUNK_ROWS));
}
