import {
  blendPyramid,
  blendResized,
  blendResizedWithConvs,
  type ConvActivation,
  concatRows,
  depthwiseNormEach,
  gateConvsTakenAlong,
  type PyramidLayout,
  pyramidPairRunsAtOnce,
  type ScaleNodeWeights,
  scaleNodeTowers,
  scaleNodeTowersAtOnce,
} from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';
import type { GateConfig } from './config';
import { DynamicBottleneck } from './dynamic-bottleneck';
import { DynamicConv2D } from './dynamic-conv2d';
import type { ForwardContext } from './forward-context';
import type { ParamScope } from './param-scope';
import { resizeAlignCorners } from './resize-align-corners';
import { SpatialGate } from './spatial-gate';

/** Bilinear resize with align_corners=True (the official scale paths), skipped when sizes agree. */
function resizeTo(x: tf.Tensor4D, like: tf.Tensor4D): tf.Tensor4D {
  const [h, w] = [like.shape[1], like.shape[2]];
  if (x.shape[1] === h && x.shape[2] === w) return x;
  return resizeAlignCorners(x, [h, w]);
}

/**
 * One block of a tower (official DynamicScale with its depth_module): for every level l,
 * `y_l = (path_0(x_{l-1}) + path_1(x_{l+1}), resized to x_l) * scale_weight + x_l * output_weight`,
 * then the depth path on y_l. Path 0 carries the finer level up to l, path 1 the coarser one down.
 * Weights are shared across levels. The Fix head has no `scale_weight` (and no gates).
 */
export class DynamicScale {
  private readonly scaleWeight?: tf.Variable<tf.Rank.R1>;
  private readonly outputWeight: tf.Variable<tf.Rank.R1>;
  readonly paths: [DynamicConv2D, DynamicConv2D];
  readonly depth: DynamicBottleneck;

  constructor(scope: ParamScope, channels: number, gnGroups: number, gate: GateConfig | null) {
    if (gate) this.scaleWeight = scope.vector('scale_weight', 1, { constant: 0 });
    this.outputWeight = scope.vector('output_weight', 1, { constant: 1 });
    const convs = scope.child('dynamic_convs');
    this.paths = [0, 1].map((s) => new DynamicConv2D(convs.child(s), channels, gnGroups, gate)) as [DynamicConv2D, DynamicConv2D];
    this.depth = new DynamicBottleneck(scope.child('depth_module'), channels, gnGroups, gate);
  }

  /**
   * Target l's input to its depth node: the neighbours' path outputs resized to x_l, times
   * scale_weight, plus x_l times output_weight. A null path output (inference: a gate that is off
   * everywhere) contributes exact zeros and is left out.
   */
  private combine(xs: tf.Tensor4D[], moved: (tf.Tensor4D | null)[][]): tf.Tensor4D[] {
    return tf.tidy(() =>
      xs.map((x, l) => {
        const gathered: tf.Tensor4D[] = [];
        const finer = l > 0 ? moved[l - 1][0] : null;
        const coarser = l + 1 < xs.length ? moved[l + 1][1] : null;
        if (finer) gathered.push(resizeTo(finer, x));
        if (coarser) gathered.push(resizeTo(coarser, x));
        const kept = tf.mul(x, this.outputWeight);
        if (gathered.length === 0) return kept as tf.Tensor4D;
        const sum = gathered.length === 1 ? gathered[0] : tf.add(gathered[0], gathered[1]);
        return tf.add(this.scaleWeight ? tf.mul(sum, this.scaleWeight) : sum, kept) as tf.Tensor4D;
      }),
    );
  }

  apply(xs: tf.Tensor4D[], ctx: ForwardContext): tf.Tensor4D[] {
    return tf.tidy(() => {
      // Every path runs on every level, edge levels included: their gates and costs count.
      const moved = xs.map((x) => this.paths.map((p) => p.apply(x, ctx)));
      return this.combine(xs, moved).map((y) => this.depth.apply(y, ctx));
    });
  }

  async infer(xs: tf.Tensor4D[], ctx: ForwardContext): Promise<tf.Tensor4D[]> {
    return (await this.inferChained(xs, ctx, undefined, undefined)).outs;
  }

  /**
   * Whether inferPacked runs here for maps so laid out with `channels`: a dynamic block (gated
   * everywhere) over two levels or more, where the backend runs a depth node over all levels at
   * once (webgpu). Elsewhere the levels run one by one (inferChained).
   */
  runsPacked(layout: PyramidLayout, channels: number): boolean {
    return this.scaleWeight !== undefined && this.depth.gate !== undefined && this.paths.every((p) => p.gate) && layout.sizes.length >= 2 && pyramidPairRunsAtOnce(layout, channels);
  }

  /**
   * infer() of every level of a packed pyramid x [P, C] (pyramid.ts) at once -> [P, C] (runsPacked):
   * both path gates, the two paths on the levels their neighbours gather, the combine, and the depth
   * node, each one kernel for all levels (on webgpu one to three dispatches, not one to three per
   * level). The same numbers as infer().
   */
  async inferPacked(x: tf.Tensor2D, layout: PyramidLayout, ctx: ForwardContext): Promise<tf.Tensor2D> {
    const y = this.inferScalePacked(x, layout, ctx);
    try {
      return await this.depth.inferPacked(y, layout, ctx);
    } finally {
      y.dispose();
    }
  }

  /**
   * inferPacked() of this block of one tower and `other`, the same block of the other tower: each
   * its scale node on its own input (this tower's from row firstRows[0] of `input.x`, the other's
   * from firstRows[1]: both towers' maps stacked, or the features for both), then both depth nodes
   * at once (DynamicBottleneck.inferPackedTowers: on webgpu one set of dispatches for both) -> both
   * outputs stacked [2P, C], this tower's first.
   */
  async inferPackedWith(other: DynamicScale, input: { x: tf.Tensor2D; firstRows: [number, number] }, layout: PyramidLayout, ctx: ForwardContext): Promise<tf.Tensor2D> {
    const ys = this.inferScalesPackedWith(other, input, layout, ctx);
    try {
      return await this.depth.inferPackedTowers(other.depth, ys, layout, ctx);
    } finally {
      ys.dispose();
    }
  }

  /**
   * This block's scale node and `other`'s, each on its own input (as inferPackedWith takes them)
   * -> both outputs stacked [2P, C], this tower's first. Where both have their path gates in one
   * activation and scaleNodeTowersAtOnce, scaleNodeTowers (three dispatches for both, no copies),
   * its four gates recorded and charged as each tower's own; else one scale node after the other.
   */
  private inferScalesPackedWith(other: DynamicScale, input: { x: tf.Tensor2D; firstRows: [number, number] }, layout: PyramidLayout, ctx: ForwardContext): tf.Tensor2D {
    const { x, firstRows } = input;
    const [a, b] = [this.scaleNodeWeights(), other.scaleNodeWeights()];
    // tower by tower where the op would be: each tower's gates charged as they come, not stacked first
    if (!a || !b || a.activation.wgsl !== b.activation.wgsl || !scaleNodeTowersAtOnce([a.weights, b.weights], x.shape[1])) {
      return tf.tidy(() => concatRows([this.inferScalePacked(x, layout, ctx, firstRows[0]), other.inferScalePacked(x, layout, ctx, firstRows[1])]));
    }
    const { output, gates } = scaleNodeTowers(x, layout, [a.weights, b.weights], a.activation, firstRows);
    try {
      DynamicConv2D.chargePackedGates([...this.paths, ...other.paths], gates, layout, ctx);
    } catch (e) {
      output.dispose();
      throw e;
    } finally {
      gates.dispose();
    }
    return output;
  }

  /** This block's scale node as scaleNodeTowers takes it, with its path gates' shared activation; undefined unless both gates have one. */
  private scaleNodeWeights(): { weights: ScaleNodeWeights; activation: ConvActivation } | undefined {
    const [finer, coarser] = this.paths;
    if (!finer.gate || !coarser.gate || !this.scaleWeight) return undefined;
    const pair = SpatialGate.convPair([finer.gate, coarser.gate]);
    if (!pair) return undefined;
    const weights: ScaleNodeWeights = { finer: finer.depthwiseLayer, coarser: coarser.depthwiseLayer, gates: pair.params, xWeight: this.outputWeight, sourceWeight: this.scaleWeight };
    return { weights, activation: pair.activation };
  }

  /** Whether inferPackedWith runs this block's depth node and `other`'s in one set of dispatches here. */
  runsTowersAtOnce(other: DynamicScale, layout: PyramidLayout, channels: number): boolean {
    return this.depth.runsTowersAtOnce(other.depth, layout, channels);
  }

  /** The scale node of every level of a packed pyramid: both path gates, the two paths, their blend -> the depth node's input [P, C]. */
  private inferScalePacked(x: tf.Tensor2D, layout: PyramidLayout, ctx: ForwardContext, firstRow = 0): tf.Tensor2D {
    // path 0 carries level l up to l + 1 (so not from the last), path 1 down to l - 1 (not from the first);
    // where the blend normalises the paths as it samples them, they come as their convs and GN's affine form
    return tf.tidy(() => {
      // the paths' maps go as soon as the blend has read them (their gates' charge keeps its own handle)
      const paths = DynamicConv2D.inferPathsPacked(this.paths, x, layout, ctx, firstRow);
      return blendPyramid(x, layout, this.outputWeight, paths, this.scaleWeight as tf.Tensor, firstRow);
    });
  }

  /** This block's two path gate filters, when it has gates. */
  get pathGateFilters(): tf.Tensor4D[] {
    return this.paths.flatMap((p) => (p.gate ? [p.gate.convFilter] : []));
  }

  /**
   * infer() as one block of a tower: `pathGateConvs[l]`, when given, are this block's path gate
   * convs of xs[l], taken by the previous block as it wrote xs[l] (not disposed here); `next` is the
   * block after this one, whose path gate convs of the outputs are returned, taken where the backend
   * fuses them with the depth nodes' last pass (wasm).
   */
  async inferChained(
    xs: tf.Tensor4D[],
    ctx: ForwardContext,
    pathGateConvs: tf.Tensor4D[][] | undefined,
    next: DynamicScale | undefined,
  ): Promise<{ outs: tf.Tensor4D[]; nextGateConvs: tf.Tensor4D[][] | undefined }> {
    // The outputs nobody gathers (path 0 of the coarsest level, path 1 of the finest, which holds
    // most of the pixels) are not computed; their gates and costs still are.
    const gathered = (s: number, l: number) => (s === 0 ? l + 1 < xs.length : l > 0);
    const moved: (tf.Tensor4D | null)[][] = [];
    const pathGates = this.paths.map((p) => p.gate).filter((g): g is SpatialGate => g !== undefined);
    for (const [l, x] of xs.entries()) {
      // Both paths read x: their gate convs in one pass over it (or taken by the previous block),
      // then their depthwise convs and norms in another, where the backend fuses them (wasm).
      let gates: (tf.Tensor4D | undefined)[] = [undefined, undefined];
      if (pathGates.length === 2) {
        const convs = pathGateConvs?.[l];
        gates = convs ? pathGates.map((g, s) => g.inferFromConv(convs[s])) : SpatialGate.inferMany(pathGates, x);
      }
      try {
        const wanted = await Promise.all(this.paths.map((p, s) => p.chargeInference(x, ctx, gathered(s, l), gates[s])));
        const layers = this.paths.flatMap((p, s) => (wanted[s] ? [p.layer(gates[s])] : []));
        const outs = depthwiseNormEach(x, layers);
        moved.push(wanted.map((w) => (w ? (outs.shift() as tf.Tensor4D) : null)));
      } finally {
        tf.dispose(gates.filter((g): g is tf.Tensor4D => g !== undefined));
      }
    }
    const depthGate = this.depth.gate;
    const ys = xs.map((x, l) => {
      const finer = l > 0 ? moved[l - 1][0] : null;
      const coarser = l + 1 < xs.length ? moved[l + 1][1] : null;
      const sources = [finer, coarser].filter((t): t is tf.Tensor4D => t !== null);
      // The same sum as combine(), in one pass over the map where the backend fuses it (cpu,
      // wasm); on wasm the depth node's gate conv is taken as that pass writes its input.
      if (!depthGate || sources.length === 0 || !gateConvsTakenAlong()) return { y: blendResized(x, this.outputWeight, sources, this.scaleWeight ?? null), gateConv: undefined };
      const { output, convs } = blendResizedWithConvs(x, this.outputWeight, sources, this.scaleWeight ?? null, [depthGate.convFilter]);
      return { y: output, gateConv: convs[0] };
    });
    tf.dispose(moved.flat().filter((t): t is tf.Tensor4D => t !== null));
    // elsewhere the next block's gates are better computed by themselves (webgpu: with their activation)
    const nextFilters = gateConvsTakenAlong() ? (next?.pathGateFilters ?? []) : [];
    const outs: tf.Tensor4D[] = [];
    const nextGateConvs: tf.Tensor4D[][] = [];
    for (const { y, gateConv } of ys) {
      const { output, convs } = await this.depth.inferWithConvs(y, ctx, gateConv, nextFilters);
      outs.push(output);
      nextGateConvs.push(convs);
      tf.dispose([y, ...(gateConv ? [gateConv] : [])]);
    }
    return { outs, nextGateConvs: nextFilters.length > 0 ? nextGateConvs : undefined };
  }
}
