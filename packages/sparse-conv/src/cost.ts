import * as tf from '@tensorflow/tfjs-core';
import { GATE_SUMS, type GateSumsAttrs, numberedInputs } from './kernels/kernel-names';
import { hasKernel } from './kernels/register';
import { type PyramidLayout, pyramidRows, unpackPyramid } from './pyramid';
import { splitRows } from './row-blocks';
import { sumTensors } from './sum-tensors';

export interface ConvSpec {
  kind: 'conv' | 'depthwise';
  inChannels: number;
  outChannels: number;
  kernel: number;
  /** Default true: GroupNorm charged as outChannels multiply-adds per pixel. */
  norm?: boolean;
}

/** Per-image cost terms, each [B]. */
export interface CostTerms {
  soft: tf.Tensor1D;
  used: tf.Tensor1D;
  full: tf.Tensor1D;
}

/**
 * Multiply-adds per output pixel (SPEC section 2): conv Cin*Cout*k*k (+Cout with norm),
 * depthwise C*k*k (+C with norm).
 */
export function convCost(spec: ConvSpec): number {
  const { kind, inChannels, outChannels, kernel } = spec;
  for (const [name, v] of [['inChannels', inChannels], ['outChannels', outChannels], ['kernel', kernel]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`convCost: ${name} must be a positive integer, got ${v}`);
  }
  if (kind !== 'conv' && kind !== 'depthwise') throw new Error(`convCost: kind must be 'conv' or 'depthwise', got '${kind}'`);
  if (kind === 'depthwise' && inChannels !== outChannels) {
    throw new Error(`convCost: depthwise needs inChannels === outChannels, got ${inChannels} and ${outChannels}`);
  }
  const normCost = spec.norm === false ? 0 : outChannels;
  const conv = kind === 'conv' ? inChannels * outChannels * kernel * kernel : inChannels * kernel * kernel;
  return conv + normCost;
}

/** sum(gate) over each image, with a zero gradient (the official depthwise paths detach the gate). */
const detachedSum = tf.customGrad(((gate: tf.Tensor) => ({
  value: tf.sum(gate, [1, 2, 3]),
  gradFunc: () => tf.zerosLike(gate),
})) as unknown as Parameters<typeof tf.customGrad>[0]);

function checkCharge(fn: string, gate: tf.Tensor4D, unit: number): void {
  if (gate.rank !== 4 || gate.shape[3] !== 1) {
    throw new Error(`${fn}: gate must be rank 4 [B,H,W,1], got shape [${gate.shape.join(',')}]`);
  }
  if (!Number.isFinite(unit) || unit < 0) throw new Error(`${fn}: unit must be a finite non-negative number, got ${unit}`);
}

/**
 * Charge `unit` multiply-adds per pixel under `gate` [B,H,W,1]: soft = sum(gate)*unit (differentiable
 * in gate unless detachSoft), used = #(gate != 0)*unit, full = H*W*unit; each per image [B].
 */
export function chargeCost(gate: tf.Tensor4D, unit: number, opts: { detachSoft?: boolean } = {}): CostTerms {
  checkCharge('chargeCost', gate, unit);
  const [b, h, w] = gate.shape;
  return tf.tidy(() => {
    const soft = softCost(gate, unit, opts);
    const used = tf.mul(tf.sum(tf.step(tf.abs(gate), 0), [1, 2, 3]), unit) as tf.Tensor1D;
    const full = tf.fill([b], h * w * unit) as tf.Tensor1D;
    return { soft, used, full };
  });
}

/**
 * chargeCost's soft term alone, sum(gate) * unit per image [B]: what training differentiates, where
 * the used term (a count) can wait for gateSums over all of a pass's maps at once.
 */
export function softCost(gate: tf.Tensor4D, unit: number, opts: { detachSoft?: boolean } = {}): tf.Tensor1D {
  checkCharge('softCost', gate, unit);
  return tf.tidy(() => tf.mul(opts.detachSoft ? (detachedSum(gate) as tf.Tensor1D) : tf.sum(gate, [1, 2, 3]), unit) as tf.Tensor1D);
}

/** A packed pyramid's gate [P, 1] (pyramid.ts): one map per level, charged as one. */
export interface PyramidGate {
  packed: tf.Tensor2D;
  layout: PyramidLayout;
}

/**
 * Per image, over gate maps ([B,h,w,1] each, any sizes, or a packed pyramid's gate: its levels) and
 * their multiply-adds per pixel: sum_j units[j] * [sum of gate_j, count of its nonzero pixels] ->
 * [B, 2], the soft and used cost of the convs they gate (chargeCost's, summed). With pooled[j],
 * gate_j enters as its 3x3 max-pool ('same', within each level), taken as the kernel reads it (a
 * depth node's conv1 is charged so, as conv2 reads around each gated pixel). One kernel for all maps
 * on cpu, wasm and webgpu (a D8 pass charges ~320 maps: 7 ops each through chargeCost; webgpu
 * packs its 48 pyramid charges into 6 dispatches). units
 * default to 1 (the plain sums). Not differentiable.
 */
export function gateSums(gates: (tf.Tensor4D | PyramidGate)[], units: number[] = gates.map(() => 1), pooled: boolean[] = gates.map(() => false)): tf.Tensor2D {
  return sumsOfGates(gates, units, pooled, false);
}

/**
 * gateSums' two columns apart: soft [B] and used [B]. The kernel writes them as [2, B], so on
 * webgpu they come apart by buffer copies, not a slice program each.
 */
export function gateSumColumns(gates: (tf.Tensor4D | PyramidGate)[], units: number[] = gates.map(() => 1), pooled: boolean[] = gates.map(() => false)): { soft: tf.Tensor1D; used: tf.Tensor1D } {
  return tf.tidy(() => {
    const [soft, used] = splitRows(sumsOfGates(gates, units, pooled, true), [1, 1]).map((c) => tf.reshape(c, [-1]) as tf.Tensor1D);
    return { soft, used };
  });
}

/** gateSums as [B, 2], or byColumn as [2, B]. */
function sumsOfGates(gates: (tf.Tensor4D | PyramidGate)[], units: number[], pooled: boolean[], byColumn: boolean): tf.Tensor2D {
  if (gates.length === 0) throw new Error('gateSums: no gate maps');
  const batch = batchOf(gates[0]);
  for (const [j, g] of gates.entries()) {
    if (g instanceof tf.Tensor) {
      if (g.rank !== 4 || g.shape[3] !== 1 || g.shape[0] !== batch) {
        throw new Error(`gateSums: gates[${j}] must be [${batch},H,W,1] like gates[0], got shape [${g.shape.join(',')}]`);
      }
    } else if (g.layout.batch !== batch || g.packed.rank !== 2 || g.packed.shape[0] !== pyramidRows(g.layout) || g.packed.shape[1] !== 1) {
      throw new Error(`gateSums: gates[${j}].packed has shape [${g.packed.shape.join(',')}]; its layout needs [${pyramidRows(g.layout)},1] of ${g.layout.batch} images, gates[0] has ${batch}`);
    }
  }
  if (units.length !== gates.length || units.some((u) => !Number.isFinite(u) || u < 0)) {
    throw new Error(`gateSums: units must be ${gates.length} finite numbers >= 0, got [${units.join(',')}]`);
  }
  if (pooled.length !== gates.length) throw new Error(`gateSums: pooled must have ${gates.length} flags, got ${pooled.length}`);
  const maps = (g: tf.Tensor4D | PyramidGate) => (g instanceof tf.Tensor ? g : g.packed);
  const kernel = hasKernel(GATE_SUMS) && gates.every((g) => maps(g).dtype === 'float32');
  if (!(kernel && tf.getBackend() === 'webgpu') && gates.some((g) => !(g instanceof tf.Tensor))) {
    // only the webgpu kernel reads a pyramid's levels itself; elsewhere they are maps of their own
    return tf.tidy(() => {
      const levels = gates.map((g) => (g instanceof tf.Tensor ? [g] : unpackPyramid(g.packed, g.layout)));
      return sumsOfGates(levels.flat(), levels.flatMap((l, j) => l.map(() => units[j])), levels.flatMap((l, j) => l.map(() => pooled[j])), byColumn);
    });
  }
  if (!kernel) {
    return tf.tidy(() => {
      const sums = plainGateSums(gates as tf.Tensor4D[], units, pooled);
      return byColumn ? tf.transpose(sums) : sums;
    });
  }
  const attrs: GateSumsAttrs = { units, pooled: pooled.map((p) => (p ? 1 : 0)), pyramids: gates.map((g) => (g instanceof tf.Tensor ? null : g.layout)), byColumn };
  return tf.engine().runKernel(GATE_SUMS, numberedInputs('gate', gates.map(maps)), attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

function batchOf(g: tf.Tensor4D | PyramidGate): number {
  return g instanceof tf.Tensor ? g.shape[0] : g.layout.batch;
}

/** gateSums of maps [B,h,w,1] in tfjs ops, where no kernel takes them. */
function plainGateSums(gates: tf.Tensor4D[], units: number[], pooled: boolean[]): tf.Tensor2D {
  return tf.tidy(() => {
    const mapOf = (g: tf.Tensor4D, j: number) => (pooled[j] ? (tf.maxPool(g, 3, 1, 'same') as tf.Tensor4D) : g);
    return sumTensors(gates.map((g0, j) => {
      const g = mapOf(g0, j);
      return tf.mul(tf.stack([tf.sum(g, [1, 2, 3]), tf.sum(tf.step(tf.abs(g), 0), [1, 2, 3])], 1), units[j]) as tf.Tensor2D;
    }));
  });
}

/** Element-wise sum of two cost records (same batch size). */
export function addCosts(a: CostTerms, b: CostTerms): CostTerms {
  if (a.soft.shape[0] !== b.soft.shape[0]) {
    throw new Error(`addCosts: batch sizes differ (${a.soft.shape[0]} vs ${b.soft.shape[0]})`);
  }
  return { soft: tf.add(a.soft, b.soft), used: tf.add(a.used, b.used), full: tf.add(a.full, b.full) };
}
