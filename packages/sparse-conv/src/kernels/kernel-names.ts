import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { PyramidLayout } from '../pyramid';
import type { ListKind, ListPart } from './compact-conv-program';

/** Kernel names this package registers (per backend, on first use). */
export const SPARSE_IM2COL = 'DynheadSparseIm2Col';
export const SPARSE_DEPTHWISE = 'DynheadSparseDepthwise';
export const SCATTER_ROWS = 'DynheadScatterRows';

export interface Im2ColAttrs {
  kernel: number;
}
export interface ScatterRowsAttrs {
  /** [B, H, W, C] of the dense output. */
  outShape: number[];
}
/** WebGPU: conv evaluated only where the mask (kept on the GPU) is positive. */
export const MASKED_CONV = 'DynheadMaskedConv';
/** cpu: regular conv straight from the active pixels (no im2col buffer). */
export const SPARSE_CONV_ROWS = 'DynheadSparseConvRows';
/**
 * webgpu: a regular conv 'same' (+ an optional bias [Cout]) as the compacted path's tiled GEMM over
 * every pixel (inference); a 3x3 conv to four channels in QuadOutputConvProgram instead.
 */
export const GEMM_CONV = 'DynheadGemmConv';
/** WebGPU, compacted-index-list path: list the active pixels, conv them, expand to the dense map. */
export const COMPACT_LIST = 'DynheadCompactList';

export interface CompactListAttrs {
  /** the mask's active pixels, its 3x3 max-pool's (any mask > 0 around them), or both lists in one buffer */
  lists: ListKind;
  /** the mask is a packed pyramid's [P, 1] (pyramid.ts): its levels' pixels are kept apart */
  pyramid?: PyramidLayout;
}

export interface CompactConvAttrs {
  depthwise: boolean;
  /** the list of the buffer to take (default 'whole') */
  part?: ListPart;
  /** x is a packed pyramid [P, Cin] (pyramid.ts), the list its pixels' (regular convs only) */
  pyramid?: PyramidLayout;
  /** each row written at its pixel of a map-sized output, the unlisted rows never written (a depth node's first conv) */
  scattered?: boolean;
  /** with an input `affine` [runs, 2, Cin] (COMPACT_GROUP_NORM_AFFINE): x read as max(x * scale + shift, 0) */
  affineRelu?: boolean;
  /**
   * with pyramid and the input filter1: x holds two towers' maps, its runs (level-major (level,
   * image)) taking filter and filter1 in alternate blocks of this many (two towers stacked as
   * levels: towerRuns = their levels x batch); the tiled GEMM only
   */
  towerRuns?: number;
}
/**
 * webgpu: a regular or depthwise conv at the listed pixels of a mask -> their rows [P, Cout] (the
 * first `count`). Inputs x, filter, list, affine?, filter1? (the second tower's filter, shaped like
 * filter, with attr towerRuns); attrs CompactConvAttrs.
 */
export const COMPACT_CONV = 'DynheadCompactConv';
export const EXPAND_ROWS = 'DynheadExpandRows';
/**
 * Gate maps gate0, gate1, ... ([B,h,w,1] each, or packed pyramids' gates on webgpu) -> [B, 2]: per
 * image, sum_j units[j] * [sum of gate_j, count of its nonzero pixels], any number of maps in one
 * kernel (webgpu binds a map charged twice once, and splits the rest over its stages' bindings).
 */
export const GATE_SUMS = 'DynheadGateSums';
export interface GateSumsAttrs {
  /** per map, the multiply-adds charged per pixel under it */
  units: number[];
  /** per map, 1: sum its 3x3 max-pool ('same') instead (the charge of a conv that reads around each gated pixel) */
  pooled: number[];
  /** per map, the layout of a packed pyramid's gate [P, 1] (pyramid.ts), or null for a map [B,h,w,1] */
  pyramids?: (PyramidLayout | null)[];
  /** the sums as [2, B] (soft of every image, then used), so that each is a block of rows */
  byColumn?: boolean;
}
/** cpu, wasm, webgpu: GroupNorm (+bias before, +ReLU, times a per-row factor after) of rows grouped into images, in two passes. */
export const GROUP_NORM_ROWS = 'DynheadGroupNormRows';

export interface GroupNormRowsInputs {
  [name: string]: TensorInfo | undefined;
  x: TensorInfo;
  gamma: TensorInfo;
  beta: TensorInfo;
  bias?: TensorInfo;
  rowScale?: TensorInfo;
}

export interface GroupNormRowsAttrs {
  /** Rows of each image, in order. */
  counts: number[];
  groups: number;
  eps: number;
  relu: boolean;
}
/**
 * cpu, wasm, webgpu: training GroupNorm of a map x [B,H,W,C] with gamma, beta [C] -> [y, stats],
 * stats [B, groups, 2] = (mean, 1 / std) for GROUP_NORM_TRAIN_GRAD.
 */
export const GROUP_NORM_TRAIN = 'DynheadGroupNormTrain';
/** cpu, wasm, webgpu: GROUP_NORM_TRAIN's gradient: inputs dy, x, gamma, stats -> [dx, dgamma, dbeta]. */
export const GROUP_NORM_TRAIN_GRAD = 'DynheadGroupNormTrainGrad';
export interface GroupNormTrainAttrs {
  groups: number;
  eps: number;
}
/**
 * webgpu: GroupNorm of a conv output [B,H,W,C] with statistics over its mask [B,H,W,1] > 0 pixels
 * only (+bias first, +ReLU), exact 0 off the mask: the masked sparse conv's epilogue in two or three dispatches.
 */
export const MASKED_GROUP_NORM = 'DynheadMaskedGroupNorm';

/**
 * webgpu: a compacted sparse conv's rows [P, C] expanded into the map [B,H,W,C] through their pixel
 * list with the masked GroupNorm epilogue (+bias first, +ReLU): MASKED_GROUP_NORM of EXPAND_ROWS's
 * map without writing that map. Inputs rows, list, gamma, beta, bias?, and input? [B,H,W,C] with
 * gate? [B,H,W,1]: then the output is the depth node's ReLU(input + gate * y).
 */
export const COMPACT_GROUP_NORM = 'DynheadCompactGroupNorm';

/**
 * webgpu: GN(dwconv3x3(x) + bias) (+ReLU) (times rowScale [B,H,W,1]) of a map x [B,H,W,C] with a
 * [3,3,C,1] filter, statistics per image: the conv computed where the GroupNorm programs read it,
 * never written as a map. Inputs x, filter, gamma, beta, bias?, rowScale?; attrs DepthwiseGroupNormAttrs.
 */
export const DEPTHWISE_GROUP_NORM = 'DynheadDepthwiseGroupNorm';
export interface DepthwiseGroupNormAttrs extends MaskedGroupNormAttrs {
  /**
   * x is a packed pyramid [P, C] so laid out (pyramid.ts), and the output [rows, C] of its levels
   * levels[0] .. levels[1] - 1 (statistics per level and image; no rowScale)
   */
  pyramid?: PyramidLayout;
  levels?: [number, number];
}

/**
 * webgpu: SCALE_PATHS (affine form) with both path gates from the same read of x: inputs x [P, C],
 * gateFilter, gateBias, gateFilter1, gateBias1 (the finer path's gate, then the coarser's), filter,
 * bias, gamma, beta (the finer path), filter1, bias1, gamma1, beta1 -> [maps, gates, affine]: maps
 * [pathGateRows + the paths' rows, C], the paths' convs from row pathGateRows on (the gates ahead,
 * a vec4 each); affine [carriedGateRows + 2 runs, C], SCALE_PATHS's from that row on; gates [2P,
 * 1], the finer path's gate then the coarser's, the first 2P values of affine's buffer (so that
 * their charge, kept to the pass's end, holds only that small buffer alive).
 */
export const SCALE_PATHS_GATES = 'DynheadScalePathsGates';
export interface ScalePathsGatesAttrs {
  groups: number;
  eps: number;
  pyramid: PyramidLayout;
  /** WGSL declaring `fn gateActivation(v : f32) -> f32` (the gates' activation, as ACTIVATED_GATE_CONV takes it) */
  activation: string;
  /**
   * the third output as the paths' GroupNorm chunk sums [carriedGateRows * C / 4 + runs * groups *
   * chunks, 4] (GroupNormPartialsProgram's, the gates ahead of them), for a blend that works out the
   * scale and shift itself, instead of the affine form
   */
  sums?: boolean;
  /** rows of x before the pyramid's (x then holds more: a tower's rows in both towers' stacked maps); default 0 */
  xRow0?: number;
}

/**
 * webgpu: the same scale node of two towers at once (scaleNodeTowers), SCALE_PATHS_GATES and
 * BLEND_PYRAMID of both in three dispatches (four where the paths' GroupNorm is not worked out in
 * the blend): inputs x, then each tower's gateFilter,
 * gateBias, gateFilter1, gateBias1, filter, bias, gamma, beta, filter1, bias1, gamma1, beta1,
 * xWeight and sourceWeight, tower 1's with the suffix `Tower1` -> [output [2P, C] (tower 0's blend,
 * then tower 1's), gates [4P, 1] (tower 0's finer and coarser gate, then tower 1's)].
 */
export const SCALE_NODE_TOWERS = 'DynheadScaleNodeTowers';
/** SCALE_NODE_TOWERS's inputs of one tower, as tower 0 names them */
export const SCALE_NODE_INPUTS = ['gateFilter', 'gateBias', 'gateFilter1', 'gateBias1', 'filter', 'bias', 'gamma', 'beta', 'filter1', 'bias1', 'gamma1', 'beta1', 'xWeight', 'sourceWeight'] as const;
/** ... and as tower 1 names them (constant strings: a pass names them 8 times) */
export const SCALE_NODE_INPUTS_TOWER1 = SCALE_NODE_INPUTS.map((n) => `${n}Tower1`);
export interface ScaleNodeTowersAttrs {
  groups: number;
  eps: number;
  pyramid: PyramidLayout;
  /** as SCALE_PATHS_GATES takes it */
  activation: string;
  /** the row of x where each tower's input begins ([0, 0]: both read the features) */
  xRows: [number, number];
  /** the blend works out the paths' GroupNorm from their chunk sums (as SCALE_PATHS_GATES's sums), else a combine program writes each run's scale and shift */
  sums?: boolean;
}

/**
 * webgpu: both scale paths of a packed pyramid x [P, C] in one map (scalePathsPyramid): path 0
 * (filter, bias, gamma, beta) on levels 0 .. L-2, then path 1 (filter1, bias1, gamma1, beta1) on
 * levels 1 .. L-1, each GN(dwconv3x3(x) + bias), statistics per level and image. Attrs { groups,
 * eps, pyramid }.
 */
export const SCALE_PATHS = 'DynheadScalePaths';
export interface ScalePathsAttrs {
  groups: number;
  eps: number;
  pyramid: PyramidLayout;
  /**
   * the maps left as their convs (with bias), and a second output [runs, 2, C], each run's GroupNorm
   * scale and shift, for BLEND_PYRAMID to apply as it samples them (its `affine` input)
   */
  affine?: boolean;
}

/**
 * webgpu: the statistics of COMPACT_GROUP_NORM alone, for a conv that reads the normalised map as
 * it goes (CompactConvAttrs.affineRelu): rows [P, C] written scattered (CompactConvAttrs.scattered),
 * list, gamma, beta, bias? -> [runs, 2, C], each run's (image's, or a pyramid's (level, image)'s)
 * scale and shift per channel. Attrs CompactGroupNormAttrs (relu unused).
 */
export const COMPACT_GROUP_NORM_AFFINE = 'DynheadCompactGroupNormAffine';

export interface CompactGroupNormAttrs extends MaskedGroupNormAttrs {
  outShape: number[];
  /** the list of the buffer the rows were listed by (default 'whole') */
  part?: ListPart;
  /** the output is a packed pyramid [P, C] (pyramid.ts): statistics per (level, image) */
  pyramid?: PyramidLayout;
  /**
   * with inputs gamma1 and beta1: the runs from this one on take them (a second tower's norm, its
   * maps stacked after the first's: the first tower's levels x batch)
   */
  pairRun?: number;
}

export interface MaskedGroupNormAttrs {
  groups: number;
  eps: number;
  relu: boolean;
}
/**
 * webgpu: a spatial gate, act(conv3x3(x, filter) + bias) for a [3,3,C,1] filter, in one dispatch;
 * attrs.activation is WGSL declaring `fn gateActivation(v : f32) -> f32`.
 */
export const ACTIVATED_GATE_CONV = 'DynheadActivatedGateConv';

export interface ActivatedGateConvAttrs {
  activation: string;
  /** x is a packed pyramid [P, C] (pyramid.ts); the gate is [P, 1] (with inputs filter1 and bias1, a second gate after it: [2P, 1]) */
  pyramid?: PyramidLayout;
  /**
   * with pyramid, filter1 and bias1: they are a second tower's, and the output one gate [P, 1] whose
   * run r (level-major (level, image)) takes the second tower's filter where r / towerRuns is odd
   * (two towers' maps stacked as levels: towerRuns = their levels x batch)
   */
  towerRuns?: number;
}
/** webgpu: ReLU(input + gate * y) over [B,H,W,C] in one dispatch (a depth node's output from its dense conv2). */
export const GATED_RESIDUAL = 'DynheadGatedResidual';
/** cpu, wasm: ReLU(input + gate * scattered rows) over the whole map (the depth node's epilogue). */
export const GATED_RESIDUAL_ROWS = 'DynheadGatedResidualRows';

export interface GatedResidualInputs {
  [name: string]: TensorInfo;
  rows: TensorInfo;
  indices: TensorInfo;
  gate: TensorInfo;
  input: TensorInfo;
}
/** cpu, wasm, webgpu: x * xWeight + (resized a + resized b) * sourceWeight in one pass (a scale node's combine). */
export const BLEND_RESIZED = 'DynheadBlendResized';
/**
 * webgpu: a scale node's combine for every level of a packed pyramid (blend-pyramid-program.ts).
 * Inputs x, xWeight, paths (scalePathsPyramid's), gates ([2P, 1]), sourceWeight, and either affine
 * (the paths' GroupNorm as scale and shift per run) or partials (SCALE_PATHS_GATES's chunk sums)
 * with gamma, beta, gamma1, beta1; attrs BlendPyramidAttrs.
 */
export const BLEND_PYRAMID = 'DynheadBlendPyramid';
export interface BlendPyramidAttrs {
  pyramid: PyramidLayout;
  /** rows of C values ahead of the values in paths (SCALE_PATHS_GATES's gates, a vec4 each) */
  headRows?: number;
  /** rows of C values ahead of the values in affine or partials (the gates carried there, a value each) */
  statsHeadRows?: number;
  /** with partials: the paths' GroupNorm groups and eps */
  groups?: number;
  eps?: number;
  /** rows of x before the pyramid's (x then holds more: a tower's rows in both towers' stacked maps); default 0 */
  xRow0?: number;
}
/**
 * webgpu: every level of a packed pyramid times its own scale, then ReLU and the level's factor,
 * or exp (level-scale-program.ts). Inputs x, scale0 .. scale<L-1>; attrs { pyramid, post }.
 */
export const LEVEL_SCALE = 'DynheadLevelScale';

export interface BlendResizedAttrs {
  alignCorners: boolean;
  /** Whether inputs has a sourceWeight (otherwise the resized sum is added as it is). */
  weighted: boolean;
}

export interface BlendResizedInputs {
  [name: string]: TensorInfo | undefined;
  x: TensorInfo;
  xWeight: TensorInfo;
  a: TensorInfo;
  b?: TensorInfo;
  sourceWeight?: TensorInfo;
}
/**
 * Several inputs of one kind as a kernel's inputs prefix0, prefix1, ... (GATE_SUMS's gate maps;
 * the filters of namedFilters).
 */
export function numberedInputs<T>(prefix: string, items: T[]): Record<string, T> {
  return Object.fromEntries(items.map((item, j) => [`${prefix}${j}`, item]));
}

/** A kernel's inputs prefix0, prefix1, ..., in order (what numberedInputs wrote). */
export function readNumberedInputs(inputs: Record<string, TensorInfo | undefined>, prefix: string): TensorInfo[] {
  const items: TensorInfo[] = [];
  for (let j = 0; inputs[`${prefix}${j}`] !== undefined; j++) items.push(inputs[`${prefix}${j}`] as TensorInfo);
  return items;
}

/**
 * The filters of a kernel that takes several, as its inputs filter0, filter1, ... (the gate convs
 * of CONV3X3_FEW, and those BLEND_RESIZED and GATED_RESIDUAL_ROWS take along with their output).
 */
export function namedFilters<T>(filters: T[]): Record<string, T> {
  return numberedInputs('filter', filters);
}

/** wasm (SIMD): 'same' 3x3 conv from C channels to a few (up to 4), no bias: spatial gates' convs. */
export const CONV3X3_FEW = 'DynheadConv3x3Few';
/**
 * wasm (SIMD): k depthwise 3x3 convs (+bias) of one input, each then GroupNorm over the whole map
 * (per image) and times its [B,H,W,1] gate: the scale node's paths. Inputs x and, per layer j,
 * filter{j}, bias{j}, gamma{j}, beta{j}, gate{j}; one output per layer.
 */
export const DEPTHWISE_NORM_EACH = 'DynheadDepthwiseNormEach';

export interface DepthwiseNormEachAttrs {
  layers: number;
  groups: number;
  eps: number;
}
/**
 * wasm (SIMD): im2col at `indices` of a map given as rows (zero except rows[i] at pixel
 * rowIndices[i]): the second of two sparse convs reads the first's rows, not a scattered map.
 */
export const SPARSE_IM2COL_FROM_ROWS = 'DynheadSparseIm2ColFromRows';

export interface Im2ColFromRowsAttrs {
  kernel: number;
  /** [B, H, W] of the map. */
  mapShape: number[];
}

/**
 * webgpu: x [R, ...] -> its consecutive row blocks (`rows[i]` rows each), as copies of byte ranges
 * of x's buffer: no program, so no bind group, uniforms or dispatch (tf.split dispatches a slice
 * program per block).
 */
export const SPLIT_ROWS = 'DynheadSplitRows';
export interface SplitRowsAttrs {
  rows: number[];
}
/** webgpu: inputs (an array, as tf.concat's; [Ri, ...] each, one trailing shape) -> [sum Ri, ...], by buffer copies. */
export const CONCAT_ROWS = 'DynheadConcatRows';
