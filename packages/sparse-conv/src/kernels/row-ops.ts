import * as tf from '@tensorflow/tfjs-core';
import { COMPACT_CONV, type CompactConvAttrs, COMPACT_GROUP_NORM, COMPACT_GROUP_NORM_AFFINE, type CompactGroupNormAttrs, COMPACT_LIST, type CompactListAttrs, DEPTHWISE_GROUP_NORM, EXPAND_ROWS, GATED_RESIDUAL_ROWS, namedFilters, type Im2ColAttrs, MASKED_CONV, MASKED_GROUP_NORM, type MaskedGroupNormAttrs, SCATTER_ROWS, SPARSE_CONV_ROWS, SPARSE_DEPTHWISE, SPARSE_IM2COL, type ScatterRowsAttrs } from './kernel-names';
import type { GroupNormParams } from '../types';
import type { ListKind, ListPart } from './compact-conv-program';
import type { PyramidLayout } from '../pyramid';

// Inference-only ops (no gradients): the training form is maskedConv2d.

/** [N, k*k*C]: the k x k neighbourhoods of the pixels at flat indices (int32 [N]), zero-padded. */
export function sparseIm2col(x: tf.Tensor4D, indices: tf.Tensor1D, kernel: number): tf.Tensor2D {
  const attrs: Im2ColAttrs = { kernel };
  return tf.engine().runKernel(SPARSE_IM2COL, { x, indices }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** [N, C]: depthwise k x k conv (filter [k,k,C,1]) at the pixels at flat indices. */
export function sparseDepthwise(x: tf.Tensor4D, indices: tf.Tensor1D, filter: tf.Tensor4D): tf.Tensor2D {
  const attrs: Im2ColAttrs = { kernel: filter.shape[0] };
  return tf.engine().runKernel(SPARSE_DEPTHWISE, { x, indices, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** Dense [B,H,W,C] map, zero except rows[i] at flat pixel indices[i]. */
export function scatterRowsDense(rows: tf.Tensor2D, indices: tf.Tensor1D, outShape: [number, number, number, number]): tf.Tensor4D {
  const attrs: ScatterRowsAttrs = { outShape };
  return tf.engine().runKernel(SCATTER_ROWS, { rows, indices }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** `ReLU(input + gate * y)` over [B,H,W,C], y being `rows` at the flat pixel `indices` and 0 elsewhere. */
export function gatedResidualRows(rows: tf.Tensor2D, indices: tf.Tensor1D, gate: tf.Tensor4D, input: tf.Tensor4D): tf.Tensor4D {
  return tf.engine().runKernel(GATED_RESIDUAL_ROWS, { rows, indices, gate, input }) as tf.Tensor4D;
}

/**
 * gatedResidualRows, and the 'same' 3x3 convs of its output with each [3,3,C,1] filter, taken as it
 * is written: [output, conv0, ...] (wasm SIMD; indices ascending).
 */
export function gatedResidualRowsWithConvs(rows: tf.Tensor2D, indices: tf.Tensor1D, gate: tf.Tensor4D, input: tf.Tensor4D, filters: tf.Tensor4D[]): tf.Tensor4D[] {
  return tf.engine().runKernel(GATED_RESIDUAL_ROWS, { rows, indices, gate, input, ...namedFilters(filters) }) as unknown as tf.Tensor4D[];
}

/** Dense [B,H,W,Cout]: conv (no bias) where mask > 0, exact 0 elsewhere, without reading the mask back (webgpu). */
export function maskedConvKernel(x: tf.Tensor4D, mask: tf.Tensor4D, filter: tf.Tensor4D, depthwise: boolean): tf.Tensor4D {
  return tf.engine().runKernel(MASKED_CONV, { x, filter, mask }, { depthwise } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** [N, Cout]: regular conv (filter [k,k,Cin,Cout]) at the pixels at flat indices, without an im2col buffer. */
export function sparseConvRows(x: tf.Tensor4D, indices: tf.Tensor1D, filter: tf.Tensor4D): tf.Tensor2D {
  return tf.engine().runKernel(SPARSE_CONV_ROWS, { x, indices, filter }) as tf.Tensor2D;
}

/** A compacted conv's pixel list: built from its mask ('plain' or 'dilated'), or a part of a buffer built before. */
export type CompactList = 'plain' | 'dilated' | { buffer: tf.Tensor1D; part: ListPart };

/**
 * The pixel list buffer of a mask [B,H,W,1] (webgpu): one or two lists (ListKind), no readback.
 * With `pyramid`, the mask is a packed pyramid's [P, 1] (pyramid.ts).
 */
export function pixelLists(mask: tf.Tensor4D | tf.Tensor2D, lists: ListKind, pyramid?: PyramidLayout): tf.Tensor1D {
  const attrs: CompactListAttrs = pyramid ? { lists, pyramid } : { lists };
  return tf.engine().runKernel(COMPACT_LIST, { mask }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor1D;
}

/**
 * Dense [B,H,W,Cout]: conv (no bias) where mask > 0 (with a 'dilated' list, where its 3x3 max-pool
 * is), exact 0 elsewhere, through a compacted list of the active pixels built on the GPU (a scan of
 * the mask in blocks): no readback, no idle threads (webgpu). With `epilogue` the expansion into the
 * map is also the masked GroupNorm (+bias, +ReLU), as maskedGroupNorm of the plain result would
 * give, and with its `residual` the depth node's ReLU(input + gate * that).
 */
export function compactMaskedConv(
  x: tf.Tensor4D,
  mask: tf.Tensor4D,
  filter: tf.Tensor4D,
  depthwise: boolean,
  source: CompactList,
  epilogue?: CompactEpilogue<tf.Tensor4D>,
  inputAffine?: InputAffine,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, cin] = x.shape;
    // [count, pixel of each row, row of each pixel or -1]: one or two dispatches, no readback
    const list = typeof source === 'string' ? pixelLists(mask, source) : source.buffer;
    const part: ListPart = typeof source === 'string' ? 'whole' : source.part;
    const rows = compactConvRows(x, filter, list, { depthwise, part }, inputAffine);
    const outShape = [b, h, w, depthwise ? cin : filter.shape[3]];
    if (!epilogue) {
      if (part !== 'whole') throw new Error('compactMaskedConv: a part of a list buffer needs the GN epilogue');
      return tf.engine().runKernel(EXPAND_ROWS, { rows, list }, { outShape } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
    }
    const { norm, bias, relu, residual } = epilogue;
    const inputs: tf.NamedTensorMap = residual ? { rows, list, input: residual.input, gate: residual.gate } : { rows, list };
    const attrs: Pick<CompactGroupNormAttrs, 'outShape' | 'part'> = { outShape, part };
    return groupNormKernel(COMPACT_GROUP_NORM, inputs, norm, bias, relu, attrs);
  });
}

/** What a conv reads x through: x * scale + shift of its run (then ReLU), [runs, 2, Cin] from compactConvNormalizedOnRead. */
export interface InputAffine {
  affine: tf.Tensor3D;
  relu: boolean;
}

/**
 * A second tower's conv weights, for a packed pyramid that stacks two towers' maps (stackedLayout
 * of one tower's layout twice): its runs from `runs` on (the first tower's levels x batch) are the
 * second tower's and take these.
 */
export interface SecondTower {
  runs: number;
  filter: tf.Tensor4D;
  norm: GroupNormParams;
}

/** COMPACT_CONV: the conv's rows, x read through `inputAffine` when given, a second tower's rows with its filter. */
function compactConvRows(x: tf.Tensor, filter: tf.Tensor4D, list: tf.Tensor1D, attrs: CompactConvAttrs, inputAffine?: InputAffine, tower?: SecondTower): tf.Tensor2D {
  const inputs: tf.NamedTensorMap = { x, filter, list, ...(inputAffine ? { affine: inputAffine.affine } : {}), ...(tower ? { filter1: tower.filter } : {}) };
  const all: CompactConvAttrs = { ...attrs, ...(inputAffine ? { affineRelu: inputAffine.relu } : {}), ...(tower ? { towerRuns: tower.runs } : {}) };
  return tf.engine().runKernel(COMPACT_CONV, inputs, all as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** A compact GroupNorm kernel's inputs and attrs for a second tower's norm (CompactGroupNormAttrs.pairRun). */
function towerNorm(tower: SecondTower | undefined): { inputs: tf.NamedTensorMap; attrs: Pick<CompactGroupNormAttrs, 'pairRun'> } {
  if (!tower) return { inputs: {}, attrs: {} };
  return { inputs: { gamma1: tower.norm.gamma, beta1: tower.norm.beta }, attrs: { pairRun: tower.runs } };
}

/**
 * A depth node's first conv (regular, Cin and Cout multiples of 4) for a second conv that applies
 * its GroupNorm as it reads (DeviceTuning.normalizeOnRead): `raw`, the conv at the listed pixels written
 * at those pixels of a map like x (the other pixels never written: the second conv reads only the
 * pixels of its rows' 3x3 neighbourhoods, which the dilated list holds), and `affine`, GN's scale
 * and shift [runs, 2, Cout] of each run (image, or a pyramid's (level, image)), bias included.
 */
export function compactConvNormalizedOnRead<T extends tf.Tensor4D | tf.Tensor2D>(
  x: T,
  filter: tf.Tensor4D,
  list: { buffer: tf.Tensor1D; part: ListPart },
  norm: GroupNormParams,
  bias: tf.Tensor1D | undefined,
  pyramid?: PyramidLayout,
  tower?: SecondTower,
): { raw: T; affine: tf.Tensor3D } {
  return tf.tidy(() => {
    const cout = filter.shape[3];
    const rows = compactConvRows(x, filter, list.buffer, { depthwise: false, part: list.part, pyramid, scattered: true }, undefined, tower);
    const outShape = pyramid ? [x.shape[0], cout] : [...x.shape.slice(0, 3), cout];
    const second = towerNorm(tower);
    const attrs: CompactGroupNormAttrs = { outShape, part: list.part, pyramid, groups: norm.groups, eps: norm.eps ?? 1e-5, relu: false, ...second.attrs };
    const inputs: tf.NamedTensorMap = { rows, list: list.buffer, gamma: norm.gamma, beta: norm.beta, ...(bias ? { bias } : {}), ...second.inputs };
    const affine = tf.engine().runKernel(COMPACT_GROUP_NORM_AFFINE, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
    return { raw: tf.reshape(rows, outShape as [number, number]) as T, affine };
  });
}

/** A compacted conv's GN epilogue (compactMaskedConv): bias, GN, ReLU, and the depth node's residual. */
interface CompactEpilogue<T extends tf.Tensor> {
  norm: GroupNormParams;
  bias?: tf.Tensor1D;
  relu: boolean;
  residual?: { input: T; gate: T };
}

/**
 * compactMaskedConv with its epilogue over a packed pyramid [P, Cin] (pyramid.ts), from a list
 * buffer of the pyramid's mask: every level in one GEMM and one GroupNorm (statistics per level
 * and image, as each level's own conv would take them) -> [P, Cout]. Regular convs, Cin and Cout
 * multiples of 4 (webgpu).
 */
export function compactPyramidConv(
  x: tf.Tensor2D,
  pyramid: PyramidLayout,
  filter: tf.Tensor4D,
  list: { buffer: tf.Tensor1D; part: ListPart },
  epilogue: CompactEpilogue<tf.Tensor2D>,
  inputAffine?: InputAffine,
  tower?: SecondTower,
): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = compactConvRows(x, filter, list.buffer, { depthwise: false, part: list.part, pyramid }, inputAffine, tower);
    const { norm, bias, relu, residual } = epilogue;
    const second = towerNorm(tower);
    const inputs: tf.NamedTensorMap = { ...(residual ? { rows, list: list.buffer, input: residual.input, gate: residual.gate } : { rows, list: list.buffer }), ...second.inputs };
    const attrs: Pick<CompactGroupNormAttrs, 'outShape' | 'part' | 'pyramid' | 'pairRun'> = { outShape: [x.shape[0], filter.shape[3]], part: list.part, pyramid, ...second.attrs };
    return groupNormKernel(COMPACT_GROUP_NORM, inputs, norm, bias, relu, attrs) as unknown as tf.Tensor2D;
  });
}

/**
 * Runs one of the webgpu GroupNorm kernels: `inputs` with the norm's gamma and beta and the bias,
 * `attrs` with its groups, eps and relu (MaskedGroupNormAttrs).
 */
function groupNormKernel(name: string, inputs: tf.NamedTensorMap, norm: GroupNormParams, bias: tf.Tensor1D | undefined, relu: boolean, attrs: object = {}): tf.Tensor4D {
  const normAttrs: MaskedGroupNormAttrs = { groups: norm.groups, eps: norm.eps ?? 1e-5, relu };
  const all: tf.NamedTensorMap = { ...inputs, gamma: norm.gamma, beta: norm.beta };
  if (bias) all.bias = bias;
  return tf.engine().runKernel(name, all, { ...attrs, ...normAttrs } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** GN(dwconv3x3(x) + bias) (+ReLU) (times rowScale), the conv computed where the GN reads it (webgpu). */
export function depthwiseGroupNorm(x: tf.Tensor4D, filter: tf.Tensor4D, norm: GroupNormParams, bias: tf.Tensor1D | undefined, relu: boolean, rowScale?: tf.Tensor4D): tf.Tensor4D {
  return groupNormKernel(DEPTHWISE_GROUP_NORM, rowScale ? { x, filter, rowScale } : { x, filter }, norm, bias, relu);
}

/** GN(y + bias) with statistics over mask > 0 pixels (+ReLU), exact 0 off the mask, as one kernel (webgpu). */
export function maskedGroupNorm(y: tf.Tensor4D, mask: tf.Tensor4D, norm: GroupNormParams, bias: tf.Tensor1D | undefined, relu: boolean): tf.Tensor4D {
  return groupNormKernel(MASKED_GROUP_NORM, { x: y, mask }, norm, bias, relu);
}
