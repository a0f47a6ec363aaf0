import * as tf from '@tensorflow/tfjs-core';
import { COMPACT_GROUP_NORM } from './kernels/kernel-names';
import { hasKernel, hasMaskedConvKernel } from './kernels/register';
import { compactConvNormalizedOnRead, compactPyramidConv, pixelLists } from './kernels/row-ops';
import { webgpuTuningFlag } from './kernels/webgpu-tuning';
import { checkPacked, type PyramidLayout, packPyramid, pyramidRows, stackedLayout, unpackPyramid } from './pyramid';
import { concatRows, splitRows } from './row-blocks';
import { pairNormalizesOnRead, pairRunsOnDevice, sparseConvPair } from './sparse-conv2d';
import { oneNormForm } from './group-norm';
import type { GroupNormParams, SparseConvOptions } from './types';
import { validateConvArgs } from './validate';

/** One conv of a pair over a packed pyramid: its mask [P, 1] and, for the second, the gated residual's maps [P, C] and [P, 1]. */
export interface PyramidPairConv {
  mask: tf.Tensor2D;
  filter: tf.Tensor4D;
  opts: Omit<SparseConvOptions, 'gatedResidual'> & { gatedResidual?: { input: tf.Tensor2D; gate: tf.Tensor2D } };
}

/**
 * sparseConvPair over every level of a feature pyramid at once, its maps packed (pyramid.ts): x
 * [P, Cin] -> [P, Cout], the masks and the gated residual's maps packed alike. Each level's numbers
 * are what sparseConvPair gives it (GroupNorm statistics per level and image). On webgpu, when the
 * pair takes both pixel lists from one gate (pairRunsOnDevice), one list buffer (one or two
 * dispatches: compact-conv-program.ts), two GEMMs and two GroupNorms serve every
 * level, instead of that many per level; elsewhere each level runs sparseConvPair and the results
 * are packed again. Inference only.
 */
export async function sparseConvPairPyramid(x: tf.Tensor2D, layout: PyramidLayout, first: PyramidPairConv, second: PyramidPairConv): Promise<tf.Tensor2D> {
  const op = 'sparseConvPairPyramid';
  validatePyramidPair(op, x, layout, first, second);
  if (pairRunsOnDevice(x.shape[1], first, second)) {
    const epilogue = (o: PyramidPairConv['opts']) => ({ norm: o.norm as GroupNormParams, bias: o.bias, relu: o.post === 'relu' });
    return tf.tidy(() => {
      // both lists in one buffer: its one or two dispatches serve both convs
      const both = pixelLists(first.mask, 'dilatedAndPlain', layout);
      const list1 = { buffer: both, part: 'first' as const };
      const list2 = { buffer: both, part: 'second' as const };
      const residual = second.opts.gatedResidual;
      // the epilogue writes the gated residual when the mask is the gate; else an add after it
      const fused = residual !== undefined && residual.gate === second.mask;
      const epilogue2 = { ...epilogue(second.opts), residual: fused ? residual : undefined };
      let y: tf.Tensor2D;
      if (pairNormalizesOnRead()) {
        // conv1's GroupNorm and ReLU applied by conv2 as it reads: no normalised map written
        const { raw, affine } = compactConvNormalizedOnRead(x, first.filter, list1, first.opts.norm as GroupNormParams, first.opts.bias, layout);
        y = compactPyramidConv(raw, layout, second.filter, list2, epilogue2, { affine, relu: first.opts.post === 'relu' });
      } else {
        const t = compactPyramidConv(x, layout, first.filter, list1, epilogue(first.opts));
        y = compactPyramidConv(t, layout, second.filter, list2, epilogue2);
      }
      return residual && !fused ? (tf.relu(tf.add(residual.input, tf.mul(y, residual.gate))) as tf.Tensor2D) : y;
    });
  }
  return eachLevel(x, layout, first, second);
}

/** A depth node's conv in each of two towers: tower 0's filter and norm, then tower 1's. */
export interface TowerConvs {
  filters: [tf.Tensor4D, tf.Tensor4D];
  norms: [GroupNormParams, GroupNormParams];
}

/**
 * Two towers' depth nodes at once: x [2P, C] holds tower 0's packed pyramid (`layout`, P rows) then
 * tower 1's, `gate` [2P, 1] their gates. Each tower's rows become ReLU(x + gate *
 * GN2(conv2(ReLU(GN1(conv1(x)))))) with its own filters and norms, conv1 where the gate's 3x3
 * max-pool is > 0 and conv2 where the gate is > 0, GroupNorm statistics per level and image: each
 * tower's sparseConvPairPyramid, stacked. On webgpu (towersRunAtOnce) one pixel-list buffer, two
 * GEMMs and two GroupNorms serve both towers, each row taking its tower's weights, where the towers
 * one by one take twice as many dispatches; elsewhere tower by tower. Inference only.
 */
export async function sparseConvPairTowers(x: tf.Tensor2D, layout: PyramidLayout, gate: tf.Tensor2D, first: TowerConvs, second: TowerConvs): Promise<tf.Tensor2D> {
  const op = 'sparseConvPairTowers';
  const stacked = stackedLayout(layout, layout);
  checkPacked(op, 'x', x, stacked, x.shape[1]);
  checkPacked(op, 'gate', gate, stacked, 1);
  validateTowerConvs(op, layout, x.shape[1], first, second);
  const rows = pyramidRows(layout);
  const conv = (c: TowerConvs, t: 0 | 1) => ({ filter: c.filters[t], norm: c.norms[t] });
  if (towersRunAtOnce(layout, x.shape[1], first, second)) {
    const runs = layout.sizes.length * layout.batch;
    const tower1 = (c: TowerConvs) => ({ runs, filter: c.filters[1], norm: c.norms[1] });
    return tf.tidy(() => {
      const both = pixelLists(gate, 'dilatedAndPlain', stacked);
      const list1 = { buffer: both, part: 'first' as const };
      const list2 = { buffer: both, part: 'second' as const };
      const epilogue2 = { norm: second.norms[0], relu: false, residual: { input: x, gate } };
      if (pairNormalizesOnRead()) {
        const { raw, affine } = compactConvNormalizedOnRead(x, first.filters[0], list1, first.norms[0], undefined, stacked, tower1(first));
        return compactPyramidConv(raw, stacked, second.filters[0], list2, epilogue2, { affine, relu: true }, tower1(second));
      }
      const t = compactPyramidConv(x, stacked, first.filters[0], list1, { norm: first.norms[0], relu: true }, undefined, tower1(first));
      return compactPyramidConv(t, stacked, second.filters[0], list2, epilogue2, undefined, tower1(second));
    });
  }
  const [xs, gates] = [splitRows(x, [rows, rows]) as tf.Tensor2D[], splitRows(gate, [rows, rows]) as tf.Tensor2D[]];
  const outs: tf.Tensor2D[] = [];
  try {
    for (const t of [0, 1] as const) {
      const pair = (c: TowerConvs, which: 'first' | 'second') => pairConv(gates[t], conv(c, t), which, xs[t]);
      outs.push(await sparseConvPairPyramid(xs[t], layout, pair(first, 'first'), pair(second, 'second')));
    }
    return concatRows(outs);
  } finally {
    tf.dispose([...xs, ...gates, ...outs]);
  }
}

/** Each tower's convs checked as its pair's would be (filters, norms), naming the tower and argument at fault; the output keeps x's channels (the residual). */
function validateTowerConvs(op: string, layout: PyramidLayout, channels: number, first: TowerConvs, second: TowerConvs): void {
  const [h, w] = layout.sizes[0];
  const shaped = (c: number) => ({ rank: 4, shape: [layout.batch, h, w, c] }) as unknown as tf.Tensor4D;
  for (const t of [0, 1] as const) {
    const { outChannels: mid } = validateConvArgs(`${op}: first, tower ${t}`, shaped(channels), shaped(1), first.filters[t], { norm: first.norms[t], post: 'relu' });
    const { outChannels } = validateConvArgs(`${op}: second, tower ${t}`, shaped(mid), shaped(1), second.filters[t], { norm: second.norms[t] });
    if (outChannels !== channels) throw new Error(`${op}: second.filters[${t}] writes ${outChannels} channels; the residual needs x's ${channels}`);
  }
}

/** A depth node's conv as sparseConvPairPyramid takes it: conv1 on the gate's max-pool, with ReLU; conv2 on the gate, with the gated residual of `input`. */
function pairConv(gate: tf.Tensor2D, { filter, norm }: { filter: tf.Tensor4D; norm: GroupNormParams }, which: 'first' | 'second', input: tf.Tensor2D): PyramidPairConv {
  if (which === 'first') return { mask: gate, filter, opts: { norm, post: 'relu', dilateMask: true } };
  return { mask: gate, filter, opts: { norm, gatedResidual: { input, gate } } };
}

/**
 * Whether sparseConvPairTowers runs both towers in one set of dispatches: on webgpu where the
 * device's tuning merges them (a GPU's, not SwiftShader's: knob mergeTowers) and each tower's pair
 * would run every level at once (pyramidPairRunsAtOnce), with one GroupNorm form (groups, eps) for
 * the towers' norms, whose parameters the programs pick by run.
 */
export function towersRunAtOnce(layout: PyramidLayout, channels: number, first: TowerConvs, second: TowerConvs): boolean {
  const sameShape = (c: TowerConvs) => c.filters[0].shape.join(',') === c.filters[1].shape.join(',');
  return webgpuTuningFlag('mergeTowers') && pyramidPairRunsAtOnce(layout, channels) && [first, second].every((c) => oneNormForm(c.norms) && sameShape(c));
}

/**
 * Whether sparseConvPairPyramid runs every level at once here for a depth node's pair (one gate for
 * both masks, GroupNorm, `channels` in and out): webgpu. Otherwise it goes level by level, and
 * packing the maps only costs copies.
 */
export function pyramidPairRunsAtOnce(layout: PyramidLayout, channels: number): boolean {
  return hasMaskedConvKernel() && hasKernel(COMPACT_GROUP_NORM) && channels % 4 === 0 && pyramidRows(layout) > 0;
}

/** The pair level by level through sparseConvPair, each packed map unpacked once (so shared masks stay shared). */
async function eachLevel(x: tf.Tensor2D, layout: PyramidLayout, first: PyramidPairConv, second: PyramidPairConv): Promise<tf.Tensor2D> {
  const unpacked = new Map<tf.Tensor2D, tf.Tensor4D[]>();
  const levels = (t: tf.Tensor2D) => {
    const maps = unpacked.get(t) ?? unpackPyramid(t, layout);
    unpacked.set(t, maps);
    return maps;
  };
  const residual = second.opts.gatedResidual;
  const outs: tf.Tensor4D[] = [];
  try {
    for (let l = 0; l < layout.sizes.length; l++) {
      const level = (c: PyramidPairConv) => ({ mask: levels(c.mask)[l], filter: c.filter, opts: { ...c.opts, gatedResidual: undefined } });
      const gatedResidual = residual ? { input: levels(residual.input)[l], gate: levels(residual.gate)[l] } : undefined;
      const { output } = await sparseConvPair(levels(x)[l], level(first), { ...level(second), opts: { ...second.opts, gatedResidual } }, []);
      outs.push(output);
    }
    return packPyramid(outs);
  } finally {
    tf.dispose([...outs, ...[...unpacked.values()].flat()]);
  }
}

function validatePyramidPair(op: string, x: tf.Tensor2D, layout: PyramidLayout, first: PyramidPairConv, second: PyramidPairConv): void {
  const check = (name: string, t: tf.Tensor, channels: number) => checkPacked(op, name, t, layout, channels);
  check('x', x, x.shape[1]);
  check('first.mask', first.mask, 1);
  check('second.mask', second.mask, 1);
  // the convs' own checks, on the first level's shape (filters, norms, options)
  const [h, w] = layout.sizes[0];
  const shaped = (c: number) => ({ rank: 4, shape: [layout.batch, h, w, c] }) as unknown as tf.Tensor4D;
  const mask = shaped(1);
  const { outChannels: mid } = validateConvArgs(op, shaped(x.shape[1]), mask, first.filter, { ...first.opts, gatedResidual: undefined });
  const { outChannels } = validateConvArgs(op, shaped(mid), mask, second.filter, { ...second.opts, gatedResidual: undefined });
  const residual = second.opts.gatedResidual;
  if (residual) {
    check('second.opts.gatedResidual.input', residual.input, outChannels);
    check('second.opts.gatedResidual.gate', residual.gate, 1);
  }
}
