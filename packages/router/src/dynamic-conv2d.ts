import { type DepthwiseNormLayer, type GatedDepthwiseLayer, type PyramidLayout, type ScalePaths, convCost, convLayer, maskedConv2d, masksStayOnDevice, pyramidRows, pyramidRowsFrom, scalePathsToBlend, scalePathsWithGates, stackedLayout } from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';
import type { GateConfig } from './config';
import type { ForwardContext } from './forward-context';
import { DepthwiseConv3x3, GroupNorm } from './layers';
import type { ParamScope } from './param-scope';
import { SpatialGate } from './spatial-gate';

/**
 * A scale path (official DynamicConv2D, depthwise): `gate(x) * GN(dwconv3x3(x) + b)`.
 * Names: `convs.0.{weight,bias}` (depthwise conv), `convs.1.{weight,bias}` (GN), `gate.gate_conv.*`.
 * Without a gate (the Fix head) the path is always on.
 */
export class DynamicConv2D {
  private readonly conv: DepthwiseConv3x3;
  private readonly norm: GroupNorm;
  readonly gate?: SpatialGate;
  /** Multiply-adds charged per pixel: depthwise conv + norm + the gate's conv (see the constructor). */
  readonly unit: number;

  constructor(scope: ParamScope, channels: number, gnGroups: number, gate: GateConfig | null) {
    this.conv = new DepthwiseConv3x3(scope.child('convs').child(0), channels);
    this.norm = new GroupNorm(scope.child('convs').child(1), channels, gnGroups);
    if (gate) this.gate = new SpatialGate(scope.child('gate'), channels, gate);
    // The official DynamicConv2D charges its gate conv (C -> 1, 3x3) along with the depthwise conv
    // and norm: C*9 + C + C*9 per pixel. The golden costs pin this down (SPEC's C*9 + C omits it);
    // the depth node charges no gate conv (C*C*9 + C per conv).
    const gateConv = gate ? convCost({ kind: 'conv', inChannels: channels, outChannels: 1, kernel: 3, norm: false }) : 0;
    this.unit = convCost({ kind: 'depthwise', inChannels: channels, outChannels: channels, kernel: 3 }) + gateConv;
  }

  /**
   * Same in both modes: the official code keeps the scale paths dense at inference too (GN over the
   * whole map), so a sparse form here would change the numbers.
   */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    const opts = { depthwise: true, bias: this.conv.bias, norm: this.norm.params };
    if (!this.gate) {
      ctx.chargeDense(x, this.unit);
      return tf.tidy(() => maskedConv2d(x, tf.onesLike(tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 1])), this.conv.weight, opts));
    }
    const g = this.gate.apply(x);
    ctx.record(this.gate.name, g);
    ctx.charge(g, this.unit, { detachSoft: !ctx.budgetOnScalePaths });
    return maskedConv2d(x, g, this.conv.weight, opts);
  }

  /**
   * Inference: the same numbers (GN over the whole map), with the fused inference kernels. Null
   * where the output is not needed (an edge level's path that no level gathers: the official code
   * computes it and throws it away) or is zero everywhere (the gate is off on every pixel of every
   * image, known from a readback where masks are read anyway): only the gate runs, for its cost and map.
   * `gate`: this path's map when the caller computed it (taken over: disposed here).
   */
  async infer(x: tf.Tensor4D, ctx: ForwardContext, needed = true, gate?: tf.Tensor4D): Promise<tf.Tensor4D | null> {
    const g = gate ?? this.gate?.infer(x);
    try {
      if (!(await this.chargeInference(x, ctx, needed, g))) return null;
      return convLayer(x, this.conv.weight, { depthwise: true, bias: this.conv.bias, norm: this.norm.params }, g);
    } finally {
      g?.dispose();
    }
  }

  /**
   * Inference, first half: charges this path's cost (and records its gate map, `g`, which the
   * Fix head has not) and says whether its output is to be computed (see infer).
   */
  async chargeInference(x: tf.Tensor4D, ctx: ForwardContext, needed: boolean, g: tf.Tensor4D | undefined): Promise<boolean> {
    if (!this.gate || !g) {
      ctx.chargeDense(x, this.unit);
      return needed;
    }
    ctx.record(this.gate.name, g);
    ctx.charge(g, this.unit, { detachSoft: true });
    return needed && (masksStayOnDevice() || (await anyPositive(g)));
  }

  /**
   * Inference over a packed pyramid x [P, C] (pyramid.ts): the gates of these paths (a scale
   * node's two) for every level, one after another [n * P, 1] (on webgpu one dispatch), each
   * recorded and charged as infer() charges each level's. Gated paths of one unit only.
   */
  static inferGatesPacked(paths: DynamicConv2D[], x: tf.Tensor2D, layout: PyramidLayout, ctx: ForwardContext): tf.Tensor2D {
    const gates = DynamicConv2D.gatesOf(paths, 'inferGatesPacked');
    const g = SpatialGate.inferPackedMany(gates, x, layout);
    DynamicConv2D.chargePackedGates(paths, g, layout, ctx);
    return g;
  }

  /**
   * Inference over a packed pyramid x [P, C]: a scale node's two paths as blendPyramid takes them,
   * their convs before GroupNorm where the blend normalises (scalePathsToBlend) and their gates,
   * recorded and charged as inferGatesPacked's. On webgpu one program computes the gates and both
   * convs from one read of x (scalePathsWithGates). `firstRow`: x holds the pyramid from that row
   * on (a tower's rows in both towers' stacked maps).
   */
  static inferPathsPacked(paths: [DynamicConv2D, DynamicConv2D], x: tf.Tensor2D, layout: PyramidLayout, ctx: ForwardContext, firstRow = 0): ScalePaths {
    const pair = SpatialGate.convPair(DynamicConv2D.gatesOf(paths, 'inferPathsPacked') as [SpatialGate, SpatialGate]);
    if (!pair) {
      const own = pyramidRowsFrom(x, layout, firstRow);
      try {
        const gates = DynamicConv2D.inferGatesPacked(paths, own, layout, ctx);
        return { ...scalePathsToBlend(own, layout, paths[0].depthwiseLayer, paths[1].depthwiseLayer), gates };
      } finally {
        if (own !== x) own.dispose();
      }
    }
    const out = scalePathsWithGates(x, layout, paths[0].depthwiseLayer, paths[1].depthwiseLayer, pair.params, pair.activation, firstRow);
    DynamicConv2D.chargePackedGates(paths, out.gates, layout, ctx);
    return out;
  }

  private static gatesOf(paths: DynamicConv2D[], fn: string): SpatialGate[] {
    const gates = paths.map((p) => p.gate);
    if (!gates.every((g) => g !== undefined)) throw new Error(`DynamicConv2D.${fn}: the Fix head has no gates`);
    const unit = paths[0].unit;
    if (paths.some((p) => p.unit !== unit)) throw new Error(`DynamicConv2D.${fn}: paths of one unit only, got ${paths.map((p) => p.unit).join(', ')}`);
    return gates as SpatialGate[];
  }

  /** Records and charges the gates [n * P, 1] of these paths, one after another, as infer() does each level's. */
  static chargePackedGates(paths: DynamicConv2D[], g: tf.Tensor2D, layout: PyramidLayout, ctx: ForwardContext): void {
    const rows = pyramidRows(layout);
    const gates = paths.map((p) => p.gate as SpatialGate);
    for (const [i, gate] of gates.entries()) ctx.recordPyramid(gate.name, g, layout, i * rows);
    ctx.chargePyramid(g, stackedLayout(...gates.map(() => layout)), paths[0].unit);
  }

  /** The path's conv and norm without its gate (depthwiseNormPyramid: the gate applies where the path is blended). */
  get depthwiseLayer(): DepthwiseNormLayer {
    return { filter: this.conv.weight, bias: this.conv.bias, norm: this.norm.params };
  }

  /** Inference, second half: the path as a gated depthwise layer (for depthwiseNormEach). */
  layer(g: tf.Tensor4D | undefined): GatedDepthwiseLayer {
    return { filter: this.conv.weight, bias: this.conv.bias, norm: this.norm.params, gate: g };
  }
}

async function anyPositive(g: tf.Tensor): Promise<boolean> {
  const max = tf.max(g);
  const [value] = await max.data();
  max.dispose();
  return value > 0;
}
