import * as tf from '@tensorflow/tfjs-core';
import { type ActivePixels, readActivePixels } from './active-pixels';
import { gatherConvRows, scatterRows } from './gather-conv';
import { convLayer } from './conv-layer';
import { groupNormInference, groupNormMasked } from './group-norm';
import { conv2dFewOutputsEach, simdGateConvs } from './few-output-conv';
import { COMPACT_GROUP_NORM, COMPACT_GROUP_NORM_AFFINE, GATED_RESIDUAL, MASKED_GROUP_NORM, SPARSE_CONV_ROWS } from './kernels/kernel-names';
import { hasGatedResidualKernel, hasKernel, hasMaskedConvKernel, hasRowKernels, hasSimdLoops } from './kernels/register';
import { compactConvNormalizedOnRead, compactMaskedConv, gatedResidualRows, pixelLists, gatedResidualRowsWithConvs, maskedConvKernel, maskedGroupNorm, scatterRowsDense } from './kernels/row-ops';
import { webgpuTuningFlag } from './kernels/webgpu-tuning';
import { denseConv } from './masked-conv2d';
import { kernelConvRows, kernelConvRowsFromRows } from './row-conv';
import { denseFallbackDensity } from './thresholds';
import { compactGemmApplies } from './kernels/compact-gemm-program';
import type { GroupNormParams, SparseConvMethod, SparseConvOptions } from './types';
import { validateConvArgs } from './validate';

/**
 * What 'auto' runs on webgpu, where no density is known without a readback (README, "Measured"):
 * for regular convs the on-GPU compacted list beat tile skipping and the dense conv below density
 * ~0.75; a depthwise conv is too cheap for the list's extra dispatches to pay, so it stays dense.
 */
const WEBGPU_AUTO = { conv: 'compact', depthwise: 'dense' } as const;

/** The implementation 'auto' resolves to for this backend and mask density. */
export function chooseMethod(backend: string, density: number, depthwise: boolean): Exclude<SparseConvMethod, 'auto'> {
  if (density > denseFallbackDensity(backend, depthwise)) return 'dense';
  return hasRowKernels() ? 'kernel' : 'gather';
}

/**
 * The inference form: conv (+bias) (+GroupNorm with statistics from each image's active pixels)
 * (+ReLU) computed only at mask>0 pixels; exact 0 elsewhere. `mask` must be 0/1 (see gateMask).
 * Not differentiable (maskedConv2d is the training form).
 *
 * method 'auto': on webgpu the on-GPU masked kernel (no mask readback); elsewhere the mask is read
 * (and checked to be 0/1), then the row kernels (cpu, wasm) or the generic gather path run, or the
 * dense conv above the backend's measured density threshold. 'dense' and webgpu's 'kernel' do not
 * read the mask back, so they do not check its values either: there any value > 0 counts as active.
 *
 * With `gatedResidual` the result is `ReLU(input + gate * y)` over the whole map instead (the depth
 * node's output), fused with the scatter on cpu and wasm.
 */
export async function sparseConv2d(
  x: tf.Tensor4D,
  mask: tf.Tensor4D,
  filter: tf.Tensor4D,
  opts: SparseConvOptions = {},
): Promise<tf.Tensor4D> {
  return (await sparseConv2dAndConvs('sparseConv2d', x, mask, filter, opts, [])).output;
}

/**
 * sparseConv2d, and the 'same' 3x3 convs (no bias) of its output with each [3, 3, Cout, 1] filter:
 * a depth node's output and the next block's path gates, which read it. With `gatedResidual` on
 * wasm (SIMD) the convs are taken as the output is written, saving a pass over the map; otherwise
 * conv2dFewOutputsEach of the output. Inference only.
 */
export async function sparseConv2dWithConvs(
  x: tf.Tensor4D,
  mask: tf.Tensor4D,
  filter: tf.Tensor4D,
  opts: SparseConvOptions,
  filters: tf.Tensor4D[],
): Promise<{ output: tf.Tensor4D; convs: tf.Tensor4D[] }> {
  return sparseConv2dAndConvs('sparseConv2dWithConvs', x, mask, filter, opts, filters);
}

/** A map that is zero except rows[i] at pixel active.indices[i]: a sparse conv's output before its scatter. */
interface RowsMap {
  rows: tf.Tensor2D;
  active: ActivePixels;
  channels: number;
}

async function sparseConv2dAndConvs(
  op: string,
  input: tf.Tensor4D | RowsMap,
  mask: tf.Tensor4D,
  filter: tf.Tensor4D,
  opts: SparseConvOptions,
  convFilters: tf.Tensor4D[],
): Promise<{ output: tf.Tensor4D; convs: tf.Tensor4D[] }> {
  if (input instanceof tf.Tensor) return convOf(op, input, null, mask, filter, opts, convFilters);
  const { batch, height, width } = input.active;
  const shape: [number, number, number, number] = [batch, height, width, input.channels];
  // The row form serves the im2col; any other path gets the scattered map, built only if it runs.
  const held: { map?: tf.Tensor4D } = {};
  const densify = () => {
    held.map ??= tf.tidy(() => scatterRowsDense(input.rows, tf.tensor1d(input.active.indices, 'int32'), shape));
    return held.map;
  };
  const shaped = { rank: 4, shape } as unknown as tf.Tensor4D;
  try {
    return await convOf(op, shaped, { ...input, densify }, mask, filter, opts, convFilters);
  } finally {
    held.map?.dispose();
  }
}

async function convOf(
  op: string,
  input: tf.Tensor4D,
  source: (RowsMap & { densify: () => tf.Tensor4D }) | null,
  mask: tf.Tensor4D,
  filter: tf.Tensor4D,
  opts: SparseConvOptions,
  convFilters: tf.Tensor4D[],
): Promise<{ output: tf.Tensor4D; convs: tf.Tensor4D[] }> {
  // input is only a shape when source is given; x() is the map itself
  const x = () => (source ? source.densify() : input);
  const { outChannels } = validateConvArgs(op, input, mask, filter, opts);
  checkGateFilters(op, convFilters, outChannels);
  const depthwise = opts.depthwise ?? false;
  const residual = opts.gatedResidual;
  const done = (output: tf.Tensor4D) => ({ output, convs: conv2dFewOutputsEach(output, convFilters) });
  const finish = (y: tf.Tensor4D) => done(residual ? addGatedResidual(y, residual) : y);
  let method = opts.method ?? 'auto';
  const onGpu = (method === 'auto' || method === 'kernel' || method === 'compact') && hasMaskedConvKernel();
  const resolved = onGpu && method === 'auto' ? WEBGPU_AUTO[depthwise ? 'depthwise' : 'conv'] : method;
  // webgpu's compacted conv with its GN epilogue: the list and the epilogue are the whole path
  const compactWithNorm = onGpu && resolved === 'compact' && opts.norm !== undefined && hasKernel(COMPACT_GROUP_NORM);
  if (opts.dilateMask && !compactWithNorm) {
    // only that path dilates the mask as it reads it; the others take the pooled mask itself
    const pooled = tf.maxPool(mask, 3, 1, 'same') as tf.Tensor4D;
    try {
      return await convOf(op, input, source, pooled, filter, { ...opts, dilateMask: false }, convFilters);
    } finally {
      pooled.dispose();
    }
  }
  if (onGpu) {
    // the epilogue also writes the gated residual when the mask is the gate
    if (compactWithNorm && residual && residual.gate === mask) return done(onDeviceMasked(x(), mask, filter, { ...opts, method: resolved }, false, residual));
    return finish(onDeviceMasked(x(), mask, filter, { ...opts, method: resolved }));
  }
  if (method === 'dense') return finish(onDeviceMasked(x(), mask, filter, opts));
  const active = await readActivePixels(mask);
  const [b, h, w] = input.shape;
  const n = active.indices.length;
  // fill, not zeros: zeros builds the array in JS and uploads it (wasm, webgpu)
  if (n === 0) return done(residual ? tf.relu(residual.input) : tf.fill([b, h, w, outChannels], 0));
  if (method === 'auto') method = chooseMethod(tf.getBackend(), n / (b * h * w), depthwise);
  if (method === 'compact') method = 'kernel';
  if (method === 'kernel' && !hasRowKernels()) method = 'gather';
  if (method === 'dense') return finish(onDeviceMasked(x(), mask, filter, { ...opts, method }, n === b * h * w));
  // the row kernels' backends write ReLU(input + gate * y) in the scatter itself
  const fusedResidual = residual !== undefined && method === 'kernel' && hasGatedResidualKernel();
  // ... and on wasm (SIMD) take the convs of that output as they write it (active.indices ascend)
  const fusedConvs = fusedResidual && simdGateConvs(outChannels, convFilters);
  const y = tf.tidy(() => {
    const idx = () => tf.tensor1d(active.indices, 'int32');
    let rows: tf.Tensor2D;
    if (method !== 'kernel') rows = gatherConvRows(x(), active, filter, depthwise);
    else if (source && !depthwise) rows = kernelConvRowsFromRows(source.rows, source.active.indices, [b, h, w], active.indices, filter);
    else rows = kernelConvRows(x(), active.indices, filter, depthwise);
    rows = epilogueRows(rows, active, opts);
    if (method !== 'kernel') return scatterRows(rows, active);
    if (fusedConvs) return gatedResidualRowsWithConvs(rows, idx(), residual.gate, residual.input, convFilters);
    if (fusedResidual) return gatedResidualRows(rows, idx(), residual.gate, residual.input);
    return scatterRowsDense(rows, idx(), [b, h, w, outChannels]);
  });
  if (Array.isArray(y)) return { output: y[0], convs: y.slice(1) };
  return fusedResidual ? done(y) : finish(y);
}

/** The [3, 3, C, 1] filters of the convs a sparse conv's output is taken along with. */
function checkGateFilters(op: string, filters: tf.Tensor4D[], channels: number): void {
  for (const [j, f] of filters.entries()) {
    if (f.rank !== 4 || f.shape[0] !== 3 || f.shape[1] !== 3 || f.shape[2] !== channels || f.shape[3] !== 1) {
      throw new Error(`${op}: filters[${j}] has shape [${f.shape.join(',')}]; it must be [3,3,${channels},1]`);
    }
  }
}

type PairConv = { mask: tf.Tensor4D; filter: tf.Tensor4D; opts: SparseConvOptions };

/** What pairRunsOnDevice reads of a conv of a pair, whatever the form of its maps. */
type PairConvPlan = { mask: tf.Tensor; filter: tf.Tensor4D; opts: Omit<SparseConvOptions, 'gatedResidual'> & { gatedResidual?: object } };

/**
 * Whether webgpu runs a depth node's pair from its gate alone: one mask (the gate), dilated for the
 * first conv only, both compacted GEMMs with GN; x has `cin` channels.
 */
export function pairRunsOnDevice(cin: number, first: PairConvPlan, second: PairConvPlan): boolean {
  const compactGemm = (c: PairConvPlan, inChannels: number) =>
    ['auto', 'compact'].includes(c.opts.method ?? 'auto') && !c.opts.depthwise && c.opts.norm !== undefined && compactGemmApplies(inChannels, c.filter.shape[3], false);
  return (
    first.mask === second.mask &&
    first.opts.dilateMask === true &&
    !first.opts.gatedResidual &&
    !second.opts.dilateMask &&
    hasMaskedConvKernel() &&
    hasKernel(COMPACT_GROUP_NORM) &&
    compactGemm(first, cin) &&
    compactGemm(second, first.filter.shape[3])
  );
}

/**
 * Whether a pair that runs on the device (pairRunsOnDevice) has conv2 apply conv1's GroupNorm as
 * it reads (compactConvNormalizedOnRead; the device's tuning says where that is faster).
 */
export function pairNormalizesOnRead(): boolean {
  return hasKernel(COMPACT_GROUP_NORM_AFFINE) && webgpuTuningFlag('normalizeOnRead');
}

/** The pair on webgpu from one buffer of both pixel lists (pairRunsOnDevice). */
function pairOnDevice(op: string, x: tf.Tensor4D, first: PairConv, second: PairConv, filters: tf.Tensor4D[]): { output: tf.Tensor4D; convs: tf.Tensor4D[] } {
  const epilogue = (o: SparseConvOptions) => ({ norm: o.norm as GroupNormParams, bias: o.bias, relu: o.post === 'relu' });
  const output = tf.tidy(() => {
    const lists = pixelLists(first.mask, 'dilatedAndPlain');
    const list1 = { buffer: lists, part: 'first' as const };
    // conv1's GroupNorm and ReLU applied by conv2 as it reads where the device does better so: no normalised map written
    const onRead = pairNormalizesOnRead() ? compactConvNormalizedOnRead(x, first.filter, list1, first.opts.norm as GroupNormParams, first.opts.bias) : undefined;
    const t = onRead ? onRead.raw : compactMaskedConv(x, first.mask, first.filter, false, list1, epilogue(first.opts));
    const { outChannels } = validateConvArgs(op, t, second.mask, second.filter, second.opts);
    checkGateFilters(op, filters, outChannels);
    const residual = second.opts.gatedResidual;
    // the epilogue also writes the gated residual when the mask is the gate
    const fused = residual !== undefined && residual.gate === second.mask;
    const inputAffine = onRead ? { affine: onRead.affine, relu: first.opts.post === 'relu' } : undefined;
    const y = compactMaskedConv(t, second.mask, second.filter, false, { buffer: lists, part: 'second' }, { ...epilogue(second.opts), residual: fused ? residual : undefined }, inputAffine);
    return residual && !fused ? addGatedResidual(y, residual) : y;
  });
  return { output, convs: conv2dFewOutputsEach(output, filters) };
}

/**
 * Two sparse convs in a row, as a depth node runs them: `t = sparseConv2d(x, mask1, filter1, opts1)`,
 * then `sparseConv2dWithConvs(t, mask2, filter2, opts2, filters)`; the same numbers. On wasm with
 * SIMD the second conv's im2col reads the first's rows (t is zero elsewhere), so t is never
 * scattered into a map. Inference only.
 */
export async function sparseConvPair(
  x: tf.Tensor4D,
  first: PairConv,
  second: PairConv,
  filters: tf.Tensor4D[],
): Promise<{ output: tf.Tensor4D; convs: tf.Tensor4D[] }> {
  const op = 'sparseConvPair';
  const [b, h, w] = x.shape;
  const plain = (o: SparseConvOptions) => (o.method ?? 'auto') === 'auto' && !o.depthwise;
  const { outChannels: mid } = validateConvArgs(op, x, first.mask, first.filter, first.opts);
  if (pairRunsOnDevice(x.shape[3], first, second)) return pairOnDevice(op, x, first, second, filters);
  const rowsPath = plain(first.opts) && plain(second.opts) && !first.opts.gatedResidual && mid % 4 === 0 && !hasKernel(SPARSE_CONV_ROWS) && hasSimdLoops();
  const pooled1 = rowsPath && first.opts.dilateMask ? (tf.maxPool(first.mask, 3, 1, 'same') as tf.Tensor4D) : null;
  const active1 = rowsPath ? await readActivePixels(pooled1 ?? first.mask, op).finally(() => pooled1?.dispose()) : null;
  if (!active1 || active1.indices.length === 0 || chooseMethod(tf.getBackend(), active1.indices.length / (b * h * w), false) !== 'kernel') {
    const t = await sparseConv2d(x, first.mask, first.filter, first.opts);
    try {
      return await sparseConv2dAndConvs(op, t, second.mask, second.filter, second.opts, filters);
    } finally {
      t.dispose();
    }
  }
  const rows1 = tf.tidy(() => epilogueRows(kernelConvRows(x, active1.indices, first.filter, false), active1, first.opts));
  try {
    return await sparseConv2dAndConvs(op, { rows: rows1, active: active1, channels: mid }, second.mask, second.filter, second.opts, filters);
  } finally {
    rows1.dispose();
  }
}

/** `ReLU(input + gate * y)`: one kernel on webgpu, tfjs ops elsewhere (y is disposed). */
function addGatedResidual(y: tf.Tensor4D, { input, gate }: { input: tf.Tensor4D; gate: tf.Tensor4D }): tf.Tensor4D {
  const out = hasKernel(GATED_RESIDUAL)
    ? (tf.engine().runKernel(GATED_RESIDUAL, { y, input, gate }) as tf.Tensor4D)
    : tf.tidy(() => tf.relu(tf.add(input, tf.mul(y, gate))) as tf.Tensor4D);
  y.dispose();
  return out;
}

/** bias, GN (per-image statistics over the rows), ReLU on compacted rows. */
function epilogueRows(rows: tf.Tensor2D, active: ActivePixels, opts: SparseConvOptions): tf.Tensor2D {
  const relu = opts.post === 'relu';
  if (opts.norm) return groupNormInference(rows, active.counts, opts.norm, { bias: opts.bias, relu });
  let y = rows;
  if (opts.bias) y = tf.add(y, opts.bias);
  return relu ? tf.relu(y) : y;
}

/**
 * Without reading the mask back: the dense conv (method 'dense') or a webgpu program (masked
 * 'kernel' or 'compact'), then the sparse form's epilogue in masked-dense form (GN statistics over
 * mask>0 pixels): the same numbers as the row paths. `residual` (compact with norm only): the
 * output is ReLU(input + gate * that). opts.dilateMask: compact with norm only.
 */
function onDeviceMasked(
  x: tf.Tensor4D,
  mask: tf.Tensor4D,
  filter: tf.Tensor4D,
  opts: SparseConvOptions,
  allActive = false,
  residual?: { input: tf.Tensor4D; gate: tf.Tensor4D },
): tf.Tensor4D {
  return tf.tidy(() => {
    // every pixel active (known from the readback): the plain dense layer, no masking passes
    if (allActive && opts.method === 'dense') return convLayer(x, filter, opts);
    // the webgpu programs read mask > 0 themselves; only the ops below need it as 0/1
    let held: tf.Tensor4D | undefined;
    const active = () => (held ??= tf.step(mask, 0) as tf.Tensor4D); // not cast(greater): see gateMask
    const depthwise = opts.depthwise ?? false;
    const bias = opts.method !== 'dense' ? opts.bias : undefined;
    const relu = opts.post === 'relu';
    // webgpu: the compacted rows' expansion is the GN epilogue itself
    if (opts.method === 'compact' && opts.norm && hasKernel(COMPACT_GROUP_NORM)) return compactMaskedConv(x, mask, filter, depthwise, opts.dilateMask ? 'dilated' : 'plain', { norm: opts.norm, bias, relu, residual });
    let y: tf.Tensor4D;
    if (opts.method === 'dense') y = denseConv(x, filter, opts);
    else if (opts.method === 'compact') y = compactMaskedConv(x, mask, filter, depthwise, 'plain');
    else y = maskedConvKernel(x, mask, filter, depthwise);
    // webgpu: bias, GN over the mask, ReLU and the zeros off the mask in one or three dispatches
    if (opts.norm && hasKernel(MASKED_GROUP_NORM)) return maskedGroupNorm(y, mask, opts.norm, bias, relu);
    if (bias) y = tf.add(y, bias);
    if (opts.norm) y = groupNormMasked(y, active(), opts.norm);
    if (relu) y = tf.relu(y);
    if (!opts.bias && !opts.norm && opts.method !== 'dense') return y; // the kernel already wrote exact 0 off the mask
    // y * mask leaves -0 where y < 0; adding 0 turns it into exact +0. (A broadcast tf.where
    // does the same but costs ~90x more on wasm.)
    return tf.add(tf.mul(y, active()), 0);
  });
}
