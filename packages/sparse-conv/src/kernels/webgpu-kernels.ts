import * as tf from '@tensorflow/tfjs-core';
import {
  BlockCountProgram,
  CompactConvProgram,
  ExpandRowsProgram,
  GPU_ONE_PASS_LIST_BLOCKS,
  LIST_THREADS,
  listBlocks,
  type ListPart,
  ONE_PASS_LIST_BLOCKS,
  PixelListProgram,
} from './compact-conv-program';
import { CompactGemmConvProgram, compactGemmApplies, GPU_GEMM, type GemmTuning, SWIFTSHADER_GEMM } from './compact-gemm-program';
import { BlendResizedProgram } from './blend-resized-program';
import { GATE_CONV_LANES, GATE_CONV_PIXELS, GateConvProgram } from './gate-conv-program';
import { QuadOutputConvProgram } from './quad-output-conv-program';
import { GATE_SUMS_CHUNK_PIXELS, GATE_SUMS_THREADS, gateSumsChunks, GateSumsCombineProgram, GateSumsProgram, type GateSumsTerm } from './gate-sums-program';
import { GatedResidualProgram } from './gated-residual-program';
import { CHUNK_ROWS, DEPTHWISE_MAP_PIXELS, DepthwiseMapProgram, GPU_STATS_THREADS, GroupNormApplyProgram, GroupNormCombineProgram, type GateCarry, groupNormLanes, GroupNormOnePassProgram, GroupNormNormalizeProgram, groupNormNormalizes, GroupNormPartialsProgram, type GroupNormSource, groupNormFits } from './group-norm-programs';
import { ACTIVATED_GATE_CONV, type ActivatedGateConvAttrs, BLEND_PYRAMID, type BlendPyramidAttrs, BLEND_RESIZED, DEPTHWISE_GROUP_NORM, GEMM_CONV, type BlendResizedAttrs, type BlendResizedInputs, COMPACT_CONV, type CompactConvAttrs, COMPACT_GROUP_NORM, COMPACT_GROUP_NORM_AFFINE, type CompactGroupNormAttrs, CONV3X3_FEW, type DepthwiseGroupNormAttrs, GATED_RESIDUAL, COMPACT_LIST, type CompactListAttrs, EXPAND_ROWS, GATE_SUMS, type GateSumsAttrs, GROUP_NORM_ROWS, type GroupNormRowsAttrs, GROUP_NORM_TRAIN, GROUP_NORM_TRAIN_GRAD, type GroupNormTrainAttrs, LEVEL_SCALE, SCALE_NODE_INPUTS, SCALE_NODE_INPUTS_TOWER1, SCALE_NODE_TOWERS, type ScaleNodeTowersAttrs, SCALE_PATHS, SCALE_PATHS_GATES, type ScalePathsAttrs, type ScalePathsGatesAttrs, type GroupNormRowsInputs, MASKED_CONV, MASKED_GROUP_NORM, type MaskedGroupNormAttrs, readNumberedInputs } from './kernel-names';
import { GroupNormTrainApplyProgram, GroupNormTrainGradInputProgram, GroupNormTrainGradSumsProgram, GroupNormTrainParamGradProgram, GroupNormTrainStatsProgram } from './group-norm-train-programs';
import { MaskedConvProgram, type WebGPUProgramLike } from './masked-conv-program';
import type { UniformData } from './pyramid-uniforms';
import { type PyramidLayout, pyramidLevels, pyramidRows, sameLayout, scalePathsLayout, segmentRowStarts, stackedLayout } from '../pyramid';
import { type BlendStatistics, BlendPyramidProgram } from './blend-pyramid-program';
import { LevelScaleProgram, type LevelScalePost } from './level-scale-program';
import { carriedGateRows, pathGateRows, ScalePathsGatesProgram } from './scale-paths-gates-program';
import { PackVectorsProgram } from './pack-vectors-program';

/** The slice of tfjs-backend-webgpu's WebGPUBackend used here (no dependency on the backend package). */
interface WebGPUBackendLike {
  runWebGPUProgram(program: WebGPUProgramLike, inputs: tf.TensorInfo[], outputDtype: tf.DataType, programDefinedUniform?: UniformData): tf.TensorInfo;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Int32Array | Float32Array): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
  incRef(dataId: tf.DataId): void;
  adapterInfo?: { vendor?: string; architecture?: string };
}

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
function groupNormOnGpu(
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
  const stats = {
    groups: opts.groups,
    bias: bias !== undefined,
    masked: mask !== undefined || list !== undefined,
    source,
    lanes: groupNormLanes(c, opts.groups),
    activeRows: list !== undefined,
    segmented: batch > 1,
    threads: tuning.statsThreads,
    pairRun: second?.firstRun,
  };
  const post = { relu: opts.relu, rowScale: rowScale !== undefined, residual: residual !== undefined };
  if (residual && !groupNormFits(stats, post)) {
    // a gated residual that does not fit in the programs' bindings: its own dispatch after the GN
    const y = groupNormOnGpu(be, x, outShape, starts, { ...params, residual: undefined }, opts);
    const out = runProgram(be, new GatedResidualProgram(outShape), [y, residual.input, residual.gate], 'float32');
    be.disposeData(y.dataId);
    return out;
  }
  const longest = Math.max(...starts.slice(1).map((end, b) => end - starts[b]));
  const chunks = Math.max(1, Math.ceil(longest / CHUNK_ROWS));
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
function groupNormAffineOnGpu(
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
function groupNormSums(
  be: WebGPUBackendLike,
  x: tf.TensorInfo,
  starts: number[],
  o: { groups: number; bias?: tf.TensorInfo; list?: { list: tf.TensorInfo; part: ListPart }; pairRun?: number; carry?: GateCarry },
): { partials: tf.TensorInfo; stats: ConstructorParameters<typeof GroupNormPartialsProgram>[2] } {
  const { bias, list, carry } = o;
  const c = x.shape[x.shape.length - 1];
  const map: tf.TensorInfo = { ...x, shape: [x.shape.reduce((a, v) => a * v, 1) / c, c] };
  const batch = starts.length - 1;
  const stats = {
    groups: o.groups,
    bias: bias !== undefined,
    masked: list !== undefined,
    source: list ? { compact: list.part, scattered: true } : ('rows' as const),
    lanes: groupNormLanes(c, o.groups),
    activeRows: list !== undefined,
    segmented: batch > 1,
    threads: deviceTuning(be).statsThreads,
    pairRun: o.pairRun,
  };
  const longest = Math.max(...starts.slice(1).map((end, b) => end - starts[b]));
  const chunks = Math.max(1, Math.ceil(longest / CHUNK_ROWS));
  const program = new GroupNormPartialsProgram(batch, chunks, stats, carry && { ...carry, channels: c });
  const partials = runProgram(be, program, [map, rowStarts(be, starts), ...(bias ? [bias] : []), ...(list ? [list.list] : [])], 'float32');
  return { partials, stats };
}

/**
 * The chunks of each (run, group) in GroupNormPartialsProgram's sums [headRows * C / 4 + runs *
 * groups * chunks, 4] (headRows of C values carried ahead of them): from the sums' size.
 */
function chunksOfPartials(partials: tf.TensorInfo, headRows: number, channels: number, runs: number, groups: number): number {
  return (partials.shape[0] - (headRows * channels) / 4) / (runs * groups);
}

/** Partial sums a gate sums combine takes: with Units and its output, a stage's 8 storage buffers. */
const GATE_SUMS_COMBINE_PARTS = 6;
/** Maps one partial gate sums program binds: with its output, a stage's 8 storage buffers. */
const GATE_SUMS_PART_MAPS = 7;
/** Maps the one-pass gate sums program binds, beside Units and its output. */
const GATE_SUMS_ONE_PASS_MAPS = 6;

/**
 * GATE_SUMS's charges in parts of at most GATE_SUMS_PART_MAPS bound maps, in the order of the maps'
 * first charges: a map charged twice (a depth node's gate, plain and pooled) is bound once, and its
 * terms go to its part, with their units. A single part binds at most GATE_SUMS_ONE_PASS_MAPS, so
 * that the one-pass program can take it with Units.
 */
function gateSumsParts(gates: tf.TensorInfo[], layouts: (PyramidLayout | null)[], pooled: number[], units: number[]): GateSumsPart[] {
  // the same data read the same way: a map's layout is part of how it is read
  const sameRead = (f: number, j: number) => {
    const [a, b] = [layouts[f], layouts[j]];
    return gates[f].dataId === gates[j].dataId && gates[f].shape.join(',') === gates[j].shape.join(',') && (a === b || (a !== null && b !== null && sameLayout(a, b)));
  };
  const firsts: number[] = [];
  const mapOf = gates.map((_, j) => {
    const m = firsts.findIndex((f) => sameRead(f, j));
    if (m >= 0) return m;
    firsts.push(j);
    return firsts.length - 1;
  });
  const limit = firsts.length <= GATE_SUMS_ONE_PASS_MAPS ? GATE_SUMS_ONE_PASS_MAPS : GATE_SUMS_PART_MAPS;
  const parts: GateSumsPart[] = Array.from({ length: Math.ceil(firsts.length / limit) }, (_, i) => {
    const own = firsts.slice(i * limit, (i + 1) * limit);
    return { maps: own.map((j) => gates[j]), pyramids: own.map((j) => layouts[j]), terms: [], units: [] };
  });
  for (const [j, m] of mapOf.entries()) {
    const part = parts[Math.floor(m / limit)];
    part.terms.push({ map: m % limit, pooled: pooled[j] === 1 });
    part.units.push(units[j]);
  }
  return parts;
}

interface GateSumsPart {
  maps: tf.TensorInfo[];
  pyramids: (PyramidLayout | null)[];
  terms: GateSumsTerm[];
  units: number[];
}

/**
 * Small GPU buffers a backend keeps across passes, made once per key (and `sources`: the data they
 * were made from, compared on each use) outside tfjs's tensor count, so that a head's inference
 * leaves no tensor behind; the least recently used of more than `limit` are disposed.
 */
class KeptBuffers<K> {
  private readonly byBackend = new WeakMap<WebGPUBackendLike, Map<K, { sources: unknown[]; info: tf.TensorInfo }>>();

  constructor(private readonly limit: number) {}

  get(be: WebGPUBackendLike, key: K, make: () => tf.TensorInfo, sources: unknown[] = []): tf.TensorInfo {
    const cache = this.byBackend.get(be) ?? new Map<K, { sources: unknown[]; info: tf.TensorInfo }>();
    this.byBackend.set(be, cache);
    let entry = cache.get(key);
    if (entry && !entry.sources.every((s, i) => s === sources[i])) {
      be.disposeData(entry.info.dataId);
      entry = undefined;
    }
    entry ??= { sources, info: make() };
    // re-inserted: a Map iterates in insertion order, so the first key is the least recently used
    cache.delete(key);
    cache.set(key, entry);
    if (cache.size > this.limit) {
      const [oldest, old] = cache.entries().next().value as [K, { info: tf.TensorInfo }];
      cache.delete(oldest);
      be.disposeData(old.info.dataId);
    }
    return entry.info;
  }
}

/** Gate sums' unit lists: a head's pass uses one or two (an upload per pass would end tfjs's compute pass for a staging copy). */
const keptUnits = new KeptBuffers<string>(16);

function cachedUnits(be: WebGPUBackendLike, units: number[]): tf.TensorInfo {
  return keptUnits.get(be, units.join(','), () => be.makeTensorInfo([units.length], 'float32', Float32Array.from(units)));
}

/**
 * Small weights packed into one buffer (PackVectorsProgram) for programs with no binding left for
 * each, keyed by the first one's data (a D8 head packs 16 sets of path biases, and on GPUs 16 of
 * the paths' norms).
 */
const keptPacks = new KeptBuffers<tf.DataId>(512);

/**
 * Two towers' weights packed for the programs that run a block of each at once: kept apart from
 * keptPacks, whose packs of one tower begin with the same weights.
 */
const keptTowerPacks = new KeptBuffers<tf.DataId>(512);

function cachedPack(be: WebGPUBackendLike, vectors: tf.TensorInfo[], total?: number, kept = keptPacks): tf.TensorInfo {
  const ids = vectors.map((v) => v.dataId);
  const sizes = vectors.map((v) => v.shape.reduce((a, d) => a * d, 1));
  // a weight's update gives it new data, so a new buffer; the padded length is part of what was made
  return kept.get(be, ids[0], () => runProgram(be, new PackVectorsProgram(sizes, total), vectors, 'float32'), [...ids, total]);
}

/** A compact GroupNorm kernel's second set of norm parameters (inputs gamma1, beta1; attrs.pairRun), checked; undefined without one. */
function secondNorm(kernel: string, inputs: tf.NamedTensorInfoMap, attrs: CompactGroupNormAttrs): { gamma: tf.TensorInfo; beta: tf.TensorInfo; firstRun: number } | undefined {
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

/** GroupNorm's parameter buffers (group-norm-programs.ts's normParams): Gamma and Beta, or with a second set all four in one. */
function pairedNorm(be: WebGPUBackendLike, gamma: tf.TensorInfo, beta: tf.TensorInfo, second?: { gamma: tf.TensorInfo; beta: tf.TensorInfo }): tf.TensorInfo[] {
  return second ? [cachedPack(be, [gamma, beta, second.gamma, second.beta])] : [gamma, beta];
}

/**
 * A packed pyramid [P, C] (pyramid.ts) as the map [1, P, 1, C] of its pixels, the shape the
 * programs read their channels from (they find the levels through their uniforms). The same data.
 */
function asPixelMap(packed: tf.TensorInfo): tf.TensorInfo {
  return { ...packed, shape: [1, packed.shape[0], 1, packed.shape[1]] };
}

/** Runs a program with its own uniform values, where it has any (pyramid-uniforms.ts). */
function runProgram(be: WebGPUBackendLike, program: WebGPUProgramLike, inputs: tf.TensorInfo[], dtype: tf.DataType): tf.TensorInfo {
  return be.runWebGPUProgram(program, inputs, dtype, program.uniformData);
}

const startsByBackend = new WeakMap<WebGPUBackendLike, Map<string, tf.TensorInfo>>();

/**
 * The GPU copy of `starts`, uploaded once per backend and kept: a D8 pass runs ~350 GroupNorms over
 * a handful of distinct starts, and each upload of a reused buffer ends tfjs's compute pass for a
 * staging copy. Never disposed: a few int32s per distinct map size.
 */
function rowStarts(be: WebGPUBackendLike, starts: number[]): tf.TensorInfo {
  const cache = startsByBackend.get(be) ?? new Map<string, tf.TensorInfo>();
  startsByBackend.set(be, cache);
  const key = starts.join(',');
  const info = cache.get(key) ?? be.makeTensorInfo([starts.length], 'int32', Int32Array.from(starts));
  cache.set(key, info);
  return info;
}

/** How this package's webgpu kernels run on a device, where the fastest form differs. */
interface DeviceTuning {
  gemm: GemmTuning;
  /** images of more rows than this have a depthwise conv with GN written as a map first (DepthwiseMapProgram) */
  depthwiseMapRows: number;
  /** threads of a GroupNorm statistics workgroup (group-norm-programs.ts) */
  statsThreads: number;
  /** threads of the gate sums' workgroup, one per image (gate-sums-program.ts) */
  gateSumsThreads: number;
  /** pixels of an image a gate sums' workgroup takes: more, and the image is split into chunks and combined */
  gateSumsChunkPixels: number;
  /** threads of a pixel list's workgroup, one per block of 256 pixels (compact-conv-program.ts) */
  listThreads: number;
  /** blocks of 256 pixels up to which a list takes one dispatch, not a count pass and a list pass */
  onePassListBlocks: number;
  /** adjacent pixels a thread of the gate conv and of the depthwise map computes */
  gatePixels: number;
  /** threads sharing a gate conv cell's channels (gate-conv-program.ts) */
  gateLanes: number;
  depthwiseMapPixels: number;
  /**
   * groups of 4 channels a thread of the per-pixel programs (the depthwise map, GroupNorm's apply
   * pass, the scale node's blend) takes in turn, paying its pixel's index arithmetic once for all
   */
  channelQuads: number;
  /** a big map's GroupNorm in two programs (GroupNormNormalizeProgram combines as it applies), not three */
  normalizeInOne: boolean;
  /**
   * channelQuads of GroupNormNormalizeProgram, whose threads each add their group's chunk sums: the
   * more quads of a group a thread takes, the fewer times they are added
   */
  normalizeQuads: number;
  /**
   * a depth node's first conv written at its pixels with its GroupNorm's statistics alone, the
   * second conv normalising what it reads (sparseConvPair): no pass writes the normalised map
   */
  normalizeOnRead: boolean;
  /** the scale paths left as their convs with GroupNorm's statistics alone, the blend normalising as it samples them */
  blendNormalizes: boolean;
  /** with blendNormalizes, the scale node's two path gates computed by the program that writes its paths' convs (ScalePathsGatesProgram), not by a gate conv of their own */
  pathGatesWithPaths: boolean;
  /**
   * with pathGatesWithPaths, the blend works out the paths' GroupNorm from their chunk sums (as
   * GroupNormNormalizeProgram does), not from a combine program's scale and shift: a dispatch fewer
   * a block, the sums added by each thread that samples a path
   */
  blendCombines: boolean;
  /** a dense 3x3 conv to four channels (a box predictor) in QuadOutputConvProgram, not the GEMM's 64-channel tiles */
  quadOutputConv: boolean;
  /**
   * two towers' depth nodes in one set of dispatches (sparseConvPairTowers), each program taking a
   * row's tower's weights, not one tower after the other
   */
  mergeTowers: boolean;
  /**
   * the two towers' scale nodes in one set of dispatches (scaleNodeTowers: the paths with their
   * gates, their statistics and the blend, each cell or pixel taking its tower's weights), not one
   * tower after the other
   */
  mergeScaleNodes: boolean;
}

/** GPUs: the depthwise conv computed inside GN's programs while one chunk holds an image (a dispatch and a map saved). */
const GPU_TUNING: DeviceTuning = {
  gemm: GPU_GEMM,
  depthwiseMapRows: CHUNK_ROWS,
  statsThreads: GPU_STATS_THREADS,
  gateSumsThreads: GATE_SUMS_THREADS,
  gateSumsChunkPixels: GATE_SUMS_CHUNK_PIXELS,
  listThreads: LIST_THREADS,
  onePassListBlocks: GPU_ONE_PASS_LIST_BLOCKS,
  gatePixels: GATE_CONV_PIXELS,
  gateLanes: GATE_CONV_LANES,
  depthwiseMapPixels: DEPTHWISE_MAP_PIXELS,
  channelQuads: 1,
  normalizeInOne: true,
  // each thread adds its group's chunk sums once for both quads of the group (8 channels): an H200's
  // 48 normalizes of a D8 Mid pass at batch 8, 11.5 -> 8.3 ms (2026-12-04); 4 quads a thread 11.1
  normalizeQuads: 2,
  normalizeOnRead: true,
  blendNormalizes: true,
  pathGatesWithPaths: true,
  // as the normalize pass adds its chunk sums (normalizeInOne): a dispatch fewer a block
  blendCombines: true,
  quadOutputConv: true,
  // half the dispatches of a block's depth nodes: a GPU pays per dispatch (not measured on one yet)
  mergeTowers: true,
  // and of its scale nodes, with no copies to stack their outputs (not measured on a GPU yet)
  mergeScaleNodes: true,
};

/**
 * SwiftShader: GroupNorm statistics in workgroups of one SIMD group (4 threads: no coroutine
 * switches at barriers); the depthwise map at every size: it costs less than the one-pass
 * program's per-element taps (25x42x256: 23 -> 14 ms; with 4-thread statistics 7x11: 3.1-4.5 ->
 * 1.9-4.6 ms, 4x6: 1.0-1.1 -> 0.8 ms); 8 pixels a thread in the gate conv, so each X value read
 * serves more outputs (a GPU wants the threads instead); the per-pixel programs' threads take 16
 * channel quads in turn, paying their index arithmetic once for all, the depthwise map's over 8
 * pixels (a 50x84x256 map: 8 pixels, one quad 41-51 ms; 4 pixels, 16 quads 24-35 ms; GN's apply
 * pass of that map 22-28 -> 9-12 ms; runs of the same noisy machine; 8 pixels and 16 quads below). A big map's GroupNorm in
 * three programs: a thread of the fused normalize pass adds the sums of the 8 groups its 16 quads
 * span, which cost more than the dispatch it saves (16800x256, 32 groups: 97 -> 151 ms a GN).
 */
const SWIFTSHADER_TUNING: DeviceTuning = {
  gemm: SWIFTSHADER_GEMM,
  depthwiseMapRows: 0,
  statsThreads: 4,
  gateSumsThreads: 4,
  gateSumsChunkPixels: Infinity,
  listThreads: 4,
  onePassListBlocks: ONE_PASS_LIST_BLOCKS,
  gatePixels: 8,
  // SwiftShader runs a workgroup's threads as coroutines: lanes would only add barriers
  gateLanes: 1,
  // with 16 quads a thread, 8 pixels beat 4: a D8 Mid pass at 400x672 spent 684-705 ms in its 16
  // depthwise maps against 859 (2 pixels: 1225, 16: 684), 2026-12-04
  depthwiseMapPixels: 8,
  channelQuads: 16,
  normalizeInOne: false,
  normalizeQuads: 16,
  // direct tiles normalise every X value each of their 16 column threads reads: a D8 Mid pass at
  // 400x672, 23.6 -> 27.8 s (2026-12-04); the blend's normalising on read was even (22.9 s either way)
  normalizeOnRead: false,
  blendNormalizes: true,
  pathGatesWithPaths: true,
  // a thread's 16 quads span two groups, whose sums it would add for each (as normalizeInOne)
  blendCombines: false,
  quadOutputConv: true,
  // SwiftShader pays for the work, not the dispatches: merged, a D8 Mid pass at 400x672 took 30.4 s
  // against FCOS's 24.2 (0.80x; 1.08x tower by tower), its GEMMs' direct tiles choosing a tower's
  // filter in the inner loop and its one-pass pixel lists counting twice as many pixels before each
  // block (2026-12-05)
  mergeTowers: false,
  // the scale nodes likewise (its head keeps the towers apart, so they would only run so alone)
  mergeScaleNodes: false,
};

/** The knobs of DeviceTuning that setWebGPUTuning can set one by one (the GEMM's tiles aside). */
export type WebGPUTuningOverrides = Partial<Omit<DeviceTuning, 'gemm'>>;

/** A check that a knob is a power of 2 up to `max` (a workgroup's threads, a cell's lanes). */
const powerOfTwo = (max: number) => (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max && Number.isInteger(Math.log2(v as number));
/** A check that a knob is an integer in [min, max]. */
const integer = (min: number, max: number) => (v: unknown) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/** Each knob's allowed values: what the programs are written for. */
const TUNING_KNOBS: Record<keyof WebGPUTuningOverrides, (v: unknown) => boolean> = {
  depthwiseMapRows: integer(0, Number.MAX_SAFE_INTEGER),
  statsThreads: powerOfTwo(256),
  gateSumsThreads: powerOfTwo(256),
  gateSumsChunkPixels: (v) => v === Infinity || integer(1, Number.MAX_SAFE_INTEGER)(v),
  listThreads: powerOfTwo(256),
  onePassListBlocks: integer(0, ONE_PASS_LIST_BLOCKS),
  gatePixels: integer(1, 16),
  gateLanes: powerOfTwo(64),
  depthwiseMapPixels: integer(1, 16),
  channelQuads: integer(1, 64),
  normalizeInOne: (v) => typeof v === 'boolean',
  normalizeQuads: integer(1, 64),
  normalizeOnRead: (v) => typeof v === 'boolean',
  blendNormalizes: (v) => typeof v === 'boolean',
  pathGatesWithPaths: (v) => typeof v === 'boolean',
  blendCombines: (v) => typeof v === 'boolean',
  quadOutputConv: (v) => typeof v === 'boolean',
  mergeTowers: (v) => typeof v === 'boolean',
  mergeScaleNodes: (v) => typeof v === 'boolean',
};

/**
 * Throws, naming `caller`, on a knob setWebGPUTuning does not know or a value its programs are not
 * written for (a CLI checks its flags with it before any backend is set up).
 */
export function checkWebGPUTuningOverrides(overrides: Record<string, unknown>, caller = 'checkWebGPUTuningOverrides'): void {
  for (const [key, value] of Object.entries(overrides)) {
    const valid = TUNING_KNOBS[key as keyof WebGPUTuningOverrides];
    if (!valid) throw new Error(`${caller}: unknown knob '${key}'; known: ${Object.keys(TUNING_KNOBS).join(', ')}`);
    if (!valid(value)) throw new Error(`${caller}: ${key} cannot be ${String(value)}`);
  }
}

let forcedTuning: DeviceTuning | undefined;
let tuningOverrides: WebGPUTuningOverrides = {};

/**
 * For tests and benchmarks: run the kernels as on a GPU or as on SwiftShader whatever the device,
 * so that both forms are checked on either; undefined: as the device asks. `overrides` then set
 * single knobs of that form (benchmarks that compare them on a device); a knob of another name or
 * value is an error.
 */
export function setWebGPUTuning(kind: 'gpu' | 'swiftshader' | undefined, overrides: WebGPUTuningOverrides = {}): void {
  checkWebGPUTuningOverrides(overrides, 'setWebGPUTuning');
  forcedTuning = kind === undefined ? undefined : kind === 'gpu' ? GPU_TUNING : SWIFTSHADER_TUNING;
  tuningOverrides = { ...overrides };
}

/**
 * A boolean knob of the active webgpu backend's tuning (false on other backends): whether a depth
 * node's conv pair has its second conv apply the first's GroupNorm as it reads (normalizeOnRead),
 * whether the scale node's blend normalises its paths as it samples them (blendNormalizes). The
 * callers check first that the backend has the kernels.
 */
export function webgpuTuningFlag(knob: 'normalizeOnRead' | 'blendNormalizes' | 'pathGatesWithPaths' | 'blendCombines' | 'mergeTowers' | 'mergeScaleNodes'): boolean {
  return tf.getBackend() === 'webgpu' && deviceTuning(tf.backend() as unknown as WebGPUBackendLike)[knob];
}

/** How the kernels run on this device. */
function deviceTuning(be: WebGPUBackendLike): DeviceTuning {
  const base = forcedTuning ?? (be.adapterInfo?.architecture === 'swiftshader' ? SWIFTSHADER_TUNING : GPU_TUNING);
  return { ...base, ...tuningOverrides };
}

/** Row offsets of images with `counts` rows each: [0, c0, c0 + c1, ...]. */
function startsOf(counts: number[]): number[] {
  const starts = [0];
  for (const n of counts) starts.push(starts[starts.length - 1] + n);
  return starts;
}

/** Row offsets of the images of a map [B,H,W,C], a row per pixel. */
function mapStarts([b, h, w]: number[]): number[] {
  return startsOf(new Array<number>(b).fill(h * w));
}

export interface MaskedConvAttrs {
  depthwise: boolean;
}

export function registerWebGPUKernels(): void {
  tf.registerKernel({
    kernelName: MASKED_CONV,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, filter, mask } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; mask: tf.TensorInfo };
      const { depthwise } = attrs as unknown as MaskedConvAttrs;
      const outChannels = depthwise ? x.shape[3] : filter.shape[3];
      // a fresh program per call: runWebGPUProgram rewrites the program's shaderKey in place
      const program = new MaskedConvProgram(x.shape, outChannels, filter.shape[0], depthwise);
      return runProgram(backend as unknown as WebGPUBackendLike, program, [x, filter, mask], 'float32');
    },
  });
  tf.registerKernel({
    kernelName: COMPACT_LIST,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { lists, pyramid } = attrs as unknown as CompactListAttrs;
      const be = backend as unknown as WebGPUBackendLike;
      const pixels = (inputs.mask as tf.TensorInfo).shape.reduce((a, v) => a * v, 1);
      // a pyramid's mask read as one map of its pixels (the programs find their levels)
      const mask = pyramid ? asPixelMap(inputs.mask as tf.TensorInfo) : (inputs.mask as tf.TensorInfo);
      const { listThreads: threads, onePassListBlocks } = deviceTuning(be);
      if (listBlocks(pixels) <= onePassListBlocks) return runProgram(be, new PixelListProgram(pixels, false, lists, threads, pyramid), [mask], 'int32');
      const counts = runProgram(be, new BlockCountProgram(pixels, lists, threads, pyramid), [mask], 'int32');
      const list = runProgram(be, new PixelListProgram(pixels, true, lists, threads, pyramid), [mask, counts], 'int32');
      be.disposeData(counts.dataId);
      return list;
    },
  });
  tf.registerKernel({
    kernelName: COMPACT_CONV,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { filter, list, affine, filter1 } = inputs as Record<'filter' | 'list', tf.TensorInfo> & { affine?: tf.TensorInfo; filter1?: tf.TensorInfo };
      const { depthwise, part = 'whole', pyramid, scattered = false, affineRelu = false, towerRuns } = attrs as unknown as CompactConvAttrs;
      if (towerRuns !== undefined && !filter1) throw new Error(`${COMPACT_CONV}: towerRuns needs the second tower's filter1`);
      if (filter1 && towerRuns === undefined) throw new Error(`${COMPACT_CONV}: filter1 needs towerRuns (which runs take it)`);
      if (filter1 && filter1.shape.join(',') !== filter.shape.join(',')) {
        throw new Error(`${COMPACT_CONV}: filter1 has shape [${filter1.shape.join(',')}]; it must be filter's [${filter.shape.join(',')}]`);
      }
      // a pyramid [P, Cin] read as one map of its pixels (the GEMM finds their levels)
      const packed = inputs.x as tf.TensorInfo;
      const x = pyramid ? asPixelMap(packed) : packed;
      const outChannels = depthwise ? x.shape[3] : filter.shape[3];
      const [b, h, w] = x.shape;
      const gemm = compactGemmApplies(x.shape[3], outChannels, depthwise);
      if (!gemm && part !== 'whole') throw new Error(`${COMPACT_CONV}: only the tiled GEMM reads a part of a list buffer`);
      if (!gemm && pyramid) throw new Error(`${COMPACT_CONV}: only the tiled GEMM reads a packed pyramid`);
      if (!gemm && (scattered || affine)) throw new Error(`${COMPACT_CONV}: only the tiled GEMM writes scattered rows or reads through an affine form`);
      if (!gemm && filter1) throw new Error(`${COMPACT_CONV}: only the tiled GEMM takes two towers (filter1)`);
      const be = backend as unknown as WebGPUBackendLike;
      const inputAffine = affine ? { relu: affineRelu } : undefined;
      const program = gemm
        ? new CompactGemmConvProgram(b * h * w, outChannels, filter.shape[0], { part, tuning: deviceTuning(be).gemm, pyramid, scattered, inputAffine, towerRuns })
        : new CompactConvProgram(b * h * w, outChannels, filter.shape[0], depthwise);
      // in the order of the GEMM's variableNames: X, Filt, List, Affine?, Filt1?
      return runProgram(be, program, [x, filter, list, ...(affine ? [affine] : []), ...(filter1 ? [filter1] : [])], 'float32');
    },
  });
  tf.registerKernel({
    kernelName: GEMM_CONV,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { filter, bias } = inputs as Record<'x' | 'filter', tf.TensorInfo> & { bias?: tf.TensorInfo };
      const { pyramid } = (attrs ?? {}) as { pyramid?: PyramidLayout };
      // a packed pyramid [P, C] (every level in one dispatch, each row's taps kept to its level) read as the map of its pixels
      const x = pyramid ? asPixelMap(inputs.x as tf.TensorInfo) : (inputs.x as tf.TensorInfo);
      const [b, h, w] = x.shape;
      const be = backend as unknown as WebGPUBackendLike;
      const tuning = deviceTuning(be);
      const [kh, , , cout] = filter.shape;
      if (kh === 3 && cout === 4 && tuning.quadOutputConv) {
        // four output channels (a box predictor): one vec4 a pixel, not a 64-channel tile of which 4 are used
        const program = new QuadOutputConvProgram(x.shape, tuning.gatePixels, tuning.gateLanes, bias !== undefined, pyramid);
        const out = runProgram(be, program, bias ? [x, filter, bias] : [x, filter], 'float32');
        return { ...out, shape: pyramid ? [b * h * w, 4] : [b, h, w, 4] };
      }
      // tuned for the device like the listed GEMM, so that both heads' convs run alike
      const program = new CompactGemmConvProgram(b * h * w, filter.shape[3], filter.shape[0], { listed: false, tuning: tuning.gemm, biased: bias !== undefined, pyramid });
      const rows = runProgram(be, program, bias ? [x, filter, bias] : [x, filter], 'float32');
      return { ...rows, shape: pyramid ? [b * h * w, filter.shape[3]] : [b, h, w, filter.shape[3]] };
    },
  });
  tf.registerKernel({
    kernelName: EXPAND_ROWS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { rows, list } = inputs as Record<'rows' | 'list', tf.TensorInfo>;
      const { outShape } = attrs as unknown as { outShape: number[] };
      return runProgram(backend as unknown as WebGPUBackendLike, new ExpandRowsProgram(outShape), [rows, list], 'float32');
    },
  });
  tf.registerKernel({
    kernelName: GATE_SUMS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { units, pooled = [], pyramids = [], byColumn = false } = attrs as unknown as GateSumsAttrs;
      const gates = readNumberedInputs(inputs, 'gate');
      const layouts = gates.map((_, j) => pyramids[j] ?? null);
      const batch = layouts.find((p) => p)?.batch ?? gates[0].shape[0];
      const be = backend as unknown as WebGPUBackendLike;
      const { gateSumsThreads, gateSumsChunkPixels } = deviceTuning(be);
      // an image's pixels: its plane of every level of the largest map
      const pixels = Math.max(...gates.map((m, j) => (layouts[j] ? pyramidRows(layouts[j]) : m.shape.reduce((a, v) => a * v, 1)) / batch));
      const chunks = gateSumsChunks(pixels, gateSumsChunkPixels);
      const parts = gateSumsParts(gates, layouts, pooled, units);
      if (parts.length === 1 && chunks === 1) {
        const [{ maps, terms, pyramids: partLayouts, units: partUnits }] = parts;
        return runProgram(be, new GateSumsProgram(batch, terms, gateSumsThreads, partLayouts, 1, false, byColumn), [...maps, cachedUnits(be, partUnits)], 'float32');
      }
      const sums = parts.map(({ maps, terms, pyramids: partLayouts, units: partUnits }) => ({ units: partUnits, info: runProgram(be, new GateSumsProgram(batch, terms, gateSumsThreads, partLayouts, chunks, true), maps, 'float32') }));
      // the parts' sums in as few combines as the bindings allow, each after the first adding the one before
      let total: tf.TensorInfo | undefined;
      for (let i = 0; i < sums.length; ) {
        const take = sums.slice(i, i + GATE_SUMS_COMBINE_PARTS - (total ? 1 : 0));
        const last = i + take.length === sums.length;
        const program = new GateSumsCombineProgram(batch, take.map((p) => p.units.length), chunks, total !== undefined, byColumn && last);
        const next = runProgram(be, program, [...take.map((p) => p.info), ...(total ? [total] : []), cachedUnits(be, take.flatMap((p) => p.units))], 'float32');
        if (total) be.disposeData(total.dataId);
        total = next;
        i += take.length;
      }
      for (const { info } of sums) be.disposeData(info.dataId);
      return total as tf.TensorInfo;
    },
  });
  tf.registerKernel({
    kernelName: GROUP_NORM_ROWS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, gamma, beta, bias, rowScale } = inputs as GroupNormRowsInputs;
      const { counts, groups, eps, relu } = attrs as unknown as GroupNormRowsAttrs;
      return groupNormOnGpu(backend as unknown as WebGPUBackendLike, x, x.shape, startsOf(counts), { gamma, beta, bias, rowScale }, { groups, eps, relu });
    },
  });
  tf.registerKernel({
    kernelName: GROUP_NORM_TRAIN,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
      const { groups, eps } = attrs as unknown as GroupNormTrainAttrs;
      const be = backend as unknown as WebGPUBackendLike;
      const stats = runProgram(be, new GroupNormTrainStatsProgram(x.shape[0], groups, eps, deviceTuning(be).statsThreads), [x], 'float32');
      return [runProgram(be, new GroupNormTrainApplyProgram(x.shape, groups), [x, stats, gamma, beta], 'float32'), stats];
    },
  });
  tf.registerKernel({
    kernelName: GROUP_NORM_TRAIN_GRAD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { dy, x, gamma, stats } = inputs as Record<'dy' | 'x' | 'gamma' | 'stats', tf.TensorInfo>;
      const { groups } = attrs as unknown as GroupNormTrainAttrs;
      const be = backend as unknown as WebGPUBackendLike;
      const [batch, , , channels] = x.shape;
      const sums = runProgram(be, new GroupNormTrainGradSumsProgram(batch, channels, groups, deviceTuning(be).statsThreads), [dy, x, stats], 'float32');
      const dx = runProgram(be, new GroupNormTrainGradInputProgram(x.shape, groups), [dy, x, stats, gamma, sums], 'float32');
      const dGamma = runProgram(be, new GroupNormTrainParamGradProgram(channels, 1), [sums], 'float32');
      const dBeta = runProgram(be, new GroupNormTrainParamGradProgram(channels, 0), [sums], 'float32');
      be.disposeData(sums.dataId);
      return [dx, dGamma, dBeta];
    },
  });
  tf.registerKernel({
    kernelName: MASKED_GROUP_NORM,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, mask, gamma, beta, bias } = inputs as Record<'x' | 'mask' | 'gamma' | 'beta', tf.TensorInfo> & { bias?: tf.TensorInfo };
      const { groups, eps, relu } = attrs as unknown as MaskedGroupNormAttrs;
      return groupNormOnGpu(backend as unknown as WebGPUBackendLike, x, x.shape, mapStarts(x.shape), { gamma, beta, bias, mask }, { groups, eps, relu });
    },
  });
  tf.registerKernel({
    kernelName: DEPTHWISE_GROUP_NORM,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, filter, gamma, beta, bias, rowScale } = inputs as Record<'x' | 'filter' | 'gamma' | 'beta', tf.TensorInfo> & { bias?: tf.TensorInfo; rowScale?: tf.TensorInfo };
      const { groups, eps, relu, pyramid, levels } = attrs as unknown as DepthwiseGroupNormAttrs;
      const be = backend as unknown as WebGPUBackendLike;
      if (!pyramid) return groupNormOnGpu(be, x, x.shape, mapStarts(x.shape), { gamma, beta, bias, rowScale, depthwiseFilter: filter }, { groups, eps, relu });
      // some levels of a pyramid: their conv written once, then GroupNorm of its (level, image) runs
      const some = pyramidLevels(pyramid, ...(levels ?? [0, pyramid.sizes.length]));
      const tuning = deviceTuning(be);
      const c = x.shape[1];
      const pixelMap = asPixelMap(x);
      const map = runProgram(be, new DepthwiseMapProgram(pixelMap.shape, groupNormLanes(c, groups), tuning.depthwiseMapPixels, tuning.channelQuads, some), [pixelMap, filter], 'float32');
      const out = groupNormOnGpu(be, map, map.shape, segmentRowStarts(some.layout), { gamma, beta, bias }, { groups, eps, relu });
      be.disposeData(map.dataId);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: COMPACT_GROUP_NORM,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { rows, list, gamma, beta, bias, input, gate } = inputs as Record<'rows' | 'list' | 'gamma' | 'beta', tf.TensorInfo> & { bias?: tf.TensorInfo; input?: tf.TensorInfo; gate?: tf.TensorInfo };
      const { outShape, groups, eps, relu, part = 'whole', pyramid } = attrs as unknown as CompactGroupNormAttrs;
      const second = secondNorm(COMPACT_GROUP_NORM, inputs, attrs as unknown as CompactGroupNormAttrs);
      const params = { gamma, beta, bias, list: { list, part }, residual: input && gate ? { input, gate } : undefined, second };
      const starts = pyramid ? segmentRowStarts(pyramid) : mapStarts(outShape);
      return groupNormOnGpu(backend as unknown as WebGPUBackendLike, rows, outShape, starts, params, { groups, eps, relu });
    },
  });
  tf.registerKernel({
    kernelName: COMPACT_GROUP_NORM_AFFINE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { rows, list, gamma, beta, bias } = inputs as Record<'rows' | 'list' | 'gamma' | 'beta', tf.TensorInfo> & { bias?: tf.TensorInfo };
      const { outShape, groups, eps, part = 'whole', pyramid } = attrs as unknown as CompactGroupNormAttrs;
      const starts = pyramid ? segmentRowStarts(pyramid) : mapStarts(outShape);
      const second = secondNorm(COMPACT_GROUP_NORM_AFFINE, inputs, attrs as unknown as CompactGroupNormAttrs);
      return groupNormAffineOnGpu(backend as unknown as WebGPUBackendLike, rows, starts, { gamma, beta, bias, list: { list, part }, second }, { groups, eps });
    },
  });
  tf.registerKernel({
    kernelName: BLEND_RESIZED,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, xWeight, a, b, sourceWeight } = inputs as BlendResizedInputs;
      const { alignCorners, weighted } = attrs as unknown as BlendResizedAttrs;
      const program = new BlendResizedProgram(x.shape, b !== undefined, weighted, alignCorners, deviceTuning(backend as unknown as WebGPUBackendLike).channelQuads);
      const ins = [x, xWeight, a, ...(b ? [b] : []), ...(weighted && sourceWeight ? [sourceWeight] : [])];
      return runProgram(backend as unknown as WebGPUBackendLike, program, ins, 'float32');
    },
  });
  tf.registerKernel({
    kernelName: BLEND_PYRAMID,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, xWeight, paths, gates, sourceWeight, affine, partials, gamma, beta, gamma1, beta1 } = inputs as Record<string, tf.TensorInfo>;
      const { pyramid, headRows = 0, statsHeadRows = 0, groups, eps, xRow0 = 0 } = attrs as unknown as BlendPyramidAttrs;
      const be = backend as unknown as WebGPUBackendLike;
      const c = x.shape[1];
      const { channelQuads } = deviceTuning(be);
      if (partials) {
        // the paths' GroupNorm worked out from their sums here
        const chunks = chunksOfPartials(partials, statsHeadRows, c, 2 * (pyramid.sizes.length - 1) * pyramid.batch, groups as number);
        const program = new BlendPyramidProgram(pyramid, c, channelQuads, true, { paths: headRows, stats: statsHeadRows }, { groups: groups as number, eps: eps as number, chunks }, xRow0);
        const norms = cachedPack(be, [gamma, beta, gamma1, beta1]);
        return runProgram(be, program, [x, xWeight, paths, gates, sourceWeight, partials, norms], 'float32');
      }
      const program = new BlendPyramidProgram(pyramid, c, channelQuads, affine !== undefined, { paths: headRows, stats: statsHeadRows }, undefined, xRow0);
      return runProgram(be, program, [x, xWeight, paths, gates, sourceWeight, ...(affine ? [affine] : [])], 'float32');
    },
  });
  tf.registerKernel({
    kernelName: LEVEL_SCALE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { pyramid, post } = attrs as unknown as { pyramid: PyramidLayout; post: LevelScalePost };
      const x = inputs.x as tf.TensorInfo;
      const scales = readNumberedInputs(inputs, 'scale');
      return runProgram(backend as unknown as WebGPUBackendLike, new LevelScaleProgram(pyramid, x.shape[1], post), [x, ...scales], 'float32');
    },
  });
  tf.registerKernel({
    kernelName: SCALE_PATHS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, filter, filter1, bias, bias1, gamma, gamma1, beta, beta1 } = inputs as Record<string, tf.TensorInfo>;
      const { groups, eps, pyramid, affine = false } = attrs as unknown as ScalePathsAttrs;
      const be = backend as unknown as WebGPUBackendLike;
      const tuning = deviceTuning(be);
      const pixelMap = asPixelMap(x);
      // both paths' convs, with their biases, in one map; then one GroupNorm over its runs, the second path's with its own norm
      const program = new DepthwiseMapProgram(pixelMap.shape, groupNormLanes(x.shape[1], groups), tuning.depthwiseMapPixels, tuning.channelQuads, undefined, pyramid);
      const map = runProgram(be, program, [pixelMap, filter, filter1, bias, bias1], 'float32');
      // runs: path 0's (level, image) runs on levels 0 .. L-2, then path 1's
      const firstRun = (pyramid.sizes.length - 1) * pyramid.batch;
      const starts = segmentRowStarts(scalePathsLayout(pyramid));
      // the blend normalises as it samples: the statistics alone, the map as its convs
      if (affine) return [map, groupNormAffineOnGpu(be, map, starts, { gamma, beta, second: { gamma: gamma1, beta: beta1, firstRun } }, { groups, eps })];
      const out = groupNormOnGpu(be, map, map.shape, starts, { gamma, beta, second: { gamma: gamma1, beta: beta1, firstRun } }, { groups, eps, relu: false });
      be.disposeData(map.dataId);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: SCALE_PATHS_GATES,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, gateFilter, gateFilter1, gateBias, gateBias1, filter, filter1, bias, bias1, gamma, gamma1, beta, beta1 } = inputs as Record<string, tf.TensorInfo>;
      const { groups, eps, pyramid, activation, sums = false, xRow0 = 0 } = attrs as unknown as ScalePathsGatesAttrs;
      const be = backend as unknown as WebGPUBackendLike;
      const { gatePixels, gateLanes } = deviceTuning(be);
      const c = x.shape[1];
      // the paths' biases, then the gates' two and two zeros: a last vec4
      const biases = cachedPack(be, [bias, bias1, gateBias, gateBias1], 2 * c + 4);
      const out = runProgram(be, new ScalePathsGatesProgram(pyramid, c, activation, gatePixels, gateLanes, xRow0), [asPixelMap(x), gateFilter, gateFilter1, filter, filter1, biases], 'float32');
      // the paths' runs as SCALE_PATHS numbers them, from the rows after the gates' on
      const gateRows = pathGateRows(pyramid, c);
      const firstRun = (pyramid.sizes.length - 1) * pyramid.batch;
      const starts = segmentRowStarts(scalePathsLayout(pyramid)).map((s) => s + gateRows);
      const gateValues = 2 * pyramidRows(pyramid);
      // the gates, a vec4 each in out's head, carried one value each
      const carry = { input: out, values: gateValues, rows: carriedGateRows(pyramid, c), stride: 4 };
      // the gates carried into a small buffer, ahead of the paths' statistics: their charge (kept to
      // the pass's end) then holds that buffer alive, not the maps'. With `sums` the blend works out
      // the scale and shift from the chunk sums itself (a dispatch fewer); else the combine does.
      const stats = sums ? groupNormSums(be, out, starts, { groups, carry }).partials : groupNormAffineOnGpu(be, out, starts, { gamma, beta, second: { gamma: gamma1, beta: beta1, firstRun }, carry }, { groups, eps });
      be.incRef(stats.dataId);
      const gates: tf.TensorInfo = { dataId: stats.dataId, shape: [gateValues, 1], dtype: 'float32' };
      return [out, gates, stats];
    },
  });
  tf.registerKernel({
    kernelName: SCALE_NODE_TOWERS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { groups, eps, pyramid, activation, xRows, sums } = attrs as unknown as ScaleNodeTowersAttrs;
      const be = backend as unknown as WebGPUBackendLike;
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
      const gateRows = pathGateRows(pyramid, c, 2);
      const pathsLayout = scalePathsLayout(pyramid);
      const starts = segmentRowStarts(stackedLayout(pathsLayout, pathsLayout)).map((s) => s + gateRows);
      const gateValues = 4 * pyramidRows(pyramid);
      const statsHeadRows = carriedGateRows(pyramid, c, 2);
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
        const { partials, stats: o } = groupNormSums(be, paths, starts, { groups, pairRun: (pyramid.sizes.length - 1) * pyramid.batch });
        stats = runProgram(be, new GroupNormCombineProgram(starts.length - 1, c, eps, { ...o, normSets: 4 }, true, carry), [partials, norms, paths], 'float32');
        be.disposeData(partials.dataId);
      }
      const gates: tf.TensorInfo = { dataId: stats.dataId, shape: [gateValues, 1], dtype: 'float32' };
      const blend = new BlendPyramidProgram(pyramid, c, channelQuads, true, { paths: gateRows, stats: statsHeadRows }, statistics, xRows[0], towers);
      const output = runProgram(be, blend, [x, pack('xWeight'), paths, gates, pack('sourceWeight'), stats, ...(sums ? [norms] : [])], 'float32');
      be.disposeData(paths.dataId);
      // the statistics' small buffer goes on as the gates (their charge keeps it to the pass's end)
      return [output, gates];
    },
  });
  tf.registerKernel({
    kernelName: GATED_RESIDUAL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { y, input, gate } = inputs as Record<'y' | 'input' | 'gate', tf.TensorInfo>;
      return runProgram(backend as unknown as WebGPUBackendLike, new GatedResidualProgram(y.shape), [y, input, gate], 'float32');
    },
  });
  tf.registerKernel({
    kernelName: CONV3X3_FEW,
    backendName: 'webgpu',
    // one program per filter: a WebGPU program writes one output
    kernelFunc: ({ inputs, backend }) => {
      const { x } = inputs as { x: tf.TensorInfo };
      const be = backend as unknown as WebGPUBackendLike;
      const { gatePixels, gateLanes } = deviceTuning(be);
      return readNumberedInputs(inputs, 'filter').map((f) => runProgram(be, new GateConvProgram(x.shape, undefined, gatePixels, undefined, 1, gateLanes), [x, f], 'float32'));
    },
  });
  tf.registerKernel({
    kernelName: ACTIVATED_GATE_CONV,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { filter, bias, filter1, bias1 } = inputs as Record<'filter' | 'bias', tf.TensorInfo> & { filter1?: tf.TensorInfo; bias1?: tf.TensorInfo };
      const { activation, pyramid, towerRuns } = attrs as unknown as ActivatedGateConvAttrs;
      // a pyramid [P, C] read as one map of its pixels (the program finds their levels)
      const packed = inputs.x as tf.TensorInfo;
      const x = pyramid ? asPixelMap(packed) : packed;
      const be = backend as unknown as WebGPUBackendLike;
      const second = filter1 && bias1 ? [filter1, bias1] : [];
      const { gatePixels, gateLanes } = deviceTuning(be);
      if (towerRuns !== undefined && second.length === 0) throw new Error(`${ACTIVATED_GATE_CONV}: towerRuns needs the second tower's filter1 and bias1`);
      return runProgram(be, new GateConvProgram(x.shape, activation, gatePixels, pyramid, 1 + second.length / 2, gateLanes, towerRuns), [x, filter, bias, ...second], 'float32');
    },
  });
}
