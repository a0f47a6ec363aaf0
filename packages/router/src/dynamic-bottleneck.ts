import {
  conv2dFewOutputsEach,
  convCost,
  convLayer,
  gateMask,
  maskedConv2d,
  masksStayOnDevice,
  type PyramidLayout,
  pyramidRows,
  sparseConvPair,
  sparseConvPairPyramid,
  sparseConvPairTowers,
  stackedLayout,
  type TowerConvs,
  towersRunAtOnce,
} from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';
import type { GateConfig } from './config';
import type { ForwardContext } from './forward-context';
import { Conv3x3, GroupNorm } from './layers';
import type { ParamScope } from './param-scope';
import { SpatialGate } from './spatial-gate';

/**
 * The depth path (official DynamicBottleneck): `ReLU(gate(x) * GN(conv(ReLU(GN(conv(x))))) + x)`,
 * convs 3x3 without bias. Names: `bottleneck.conv{1,2}.weight`, `bottleneck.conv{1,2}.norm.*`,
 * `gate.gate_conv.*`. Without a gate (the Fix head) the residual branch is always on.
 */
export class DynamicBottleneck {
  private readonly conv1: Conv3x3;
  private readonly norm1: GroupNorm;
  private readonly conv2: Conv3x3;
  private readonly norm2: GroupNorm;
  readonly gate?: SpatialGate;
  /** Multiply-adds per pixel of each conv (conv + norm). */
  readonly unit: number;

  constructor(scope: ParamScope, channels: number, gnGroups: number, gate: GateConfig | null) {
    const bottleneck = scope.child('bottleneck');
    this.conv1 = new Conv3x3(bottleneck.child('conv1'), channels, channels, { bias: false });
    this.norm1 = new GroupNorm(bottleneck.child('conv1').child('norm'), channels, gnGroups);
    this.conv2 = new Conv3x3(bottleneck.child('conv2'), channels, channels, { bias: false });
    this.norm2 = new GroupNorm(bottleneck.child('conv2').child('norm'), channels, gnGroups);
    if (gate) this.gate = new SpatialGate(scope.child('gate'), channels, gate);
    this.unit = convCost({ kind: 'conv', inChannels: channels, outChannels: channels, kernel: 3 });
  }

  /** Training form: dense convs, GN over the whole map, the gate multiplies the residual branch. */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return tf.tidy(() => {
      const everywhere = tf.onesLike(tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 1])) as tf.Tensor4D;
      const t = maskedConv2d(x, everywhere, this.conv1.weight, { norm: this.norm1.params, post: 'relu' });
      if (!this.gate) {
        ctx.chargeDense(x, this.unit);
        ctx.chargeDense(x, this.unit);
        return tf.relu(tf.add(maskedConv2d(t, everywhere, this.conv2.weight, { norm: this.norm2.params }), x)) as tf.Tensor4D;
      }
      const g = this.gate.apply(x);
      this.chargeGated(g, ctx);
      return tf.relu(tf.add(maskedConv2d(t, g, this.conv2.weight, { norm: this.norm2.params }), x)) as tf.Tensor4D;
    });
  }

  /**
   * Inference form (SPEC section 2): conv1 only where maxpool3x3(gate) > 0, conv2 only where
   * gate > 0, GN statistics from those pixels of each image alone, zeros elsewhere.
   */
  async infer(x: tf.Tensor4D, ctx: ForwardContext, gateConv?: tf.Tensor4D): Promise<tf.Tensor4D> {
    return (await this.inferWithConvs(x, ctx, gateConv, [])).output;
  }

  /**
   * infer(), and the 'same' 3x3 convs of the output with `filters` (the next block's path gates):
   * on wasm taken as conv2's fused epilogue writes the output. `gateConv`: this node's gate conv of
   * x, taken by the op that wrote x (not disposed here).
   */
  async inferWithConvs(x: tf.Tensor4D, ctx: ForwardContext, gateConv: tf.Tensor4D | undefined, filters: tf.Tensor4D[]): Promise<{ output: tf.Tensor4D; convs: tf.Tensor4D[] }> {
    if (!this.gate) {
      const output = tf.tidy(() => {
        ctx.chargeDense(x, this.unit);
        ctx.chargeDense(x, this.unit);
        const t = convLayer(x, this.conv1.weight, { norm: this.norm1.params, post: 'relu' });
        return tf.relu(tf.add(convLayer(t, this.conv2.weight, { norm: this.norm2.params }), x)) as tf.Tensor4D;
      });
      return { output, convs: conv2dFewOutputsEach(output, filters) };
    }
    const g = tf.tidy(() => (gateConv ? (this.gate as SpatialGate).inferFromConv(gateConv) : (this.gate as SpatialGate).infer(x)));
    this.chargeGated(g, ctx);
    // Where masks stay on the device (webgpu) the kernels take any value > 0 as active, and a gate
    // is > 0 exactly where its mask is 1: the gate serves as both masks, conv1's pooled as its
    // pixel list is built, with no step or pool ops (dispatches).
    const onDevice = masksStayOnDevice();
    const around = onDevice ? g : gateMask(g, { dilate: true });
    const on = onDevice ? g : gateMask(g);
    // ReLU(g * branch + x), fused with conv2's scatter where the backend can; on wasm conv2 reads
    // conv1's rows directly
    const result = await sparseConvPair(
      x,
      { mask: around, filter: this.conv1.weight, opts: { norm: this.norm1.params, post: 'relu', dilateMask: onDevice } },
      { mask: on, filter: this.conv2.weight, opts: { norm: this.norm2.params, gatedResidual: { input: x, gate: g } } },
      filters,
    );
    tf.dispose(onDevice ? [g] : [around, on, g]);
    return result;
  }

  /**
   * infer() of every level of a packed pyramid y [P, C] (pyramid.ts) at once -> [P, C]: the gate,
   * both sparse convs and their costs once for all levels (webgpu: one pixel list, two GEMMs and two
   * GroupNorms). Gated nodes only; the same numbers as infer() of each level.
   */
  async inferPacked(y: tf.Tensor2D, layout: PyramidLayout, ctx: ForwardContext): Promise<tf.Tensor2D> {
    if (!this.gate) throw new Error('DynamicBottleneck.inferPacked: the Fix head has no gates; run infer() per level');
    const g = this.gate.inferPacked(y, layout);
    try {
      ctx.recordPyramid(this.gate.name, g, layout);
      this.chargePackedGate(g, layout, ctx);
      // the gate serves as both masks (see inferWithConvs), conv1's dilated as its list is built
      return await sparseConvPairPyramid(
        y,
        layout,
        { mask: g, filter: this.conv1.weight, opts: { norm: this.norm1.params, post: 'relu', dilateMask: true } },
        { mask: g, filter: this.conv2.weight, opts: { norm: this.norm2.params, gatedResidual: { input: y, gate: g } } },
      );
    } finally {
      g.dispose();
    }
  }

  /**
   * inferPacked() of this tower's depth node and `other`, the same node of the other tower, at once:
   * ys [2P, C] holds this tower's packed input then the other's -> their outputs, stacked alike.
   * Each gate is recorded under its own name and charged as inferPacked charges it; on webgpu one
   * gate conv, one pixel-list buffer, two GEMMs and two GroupNorms serve both towers
   * (sparseConvPairTowers), where the two nodes one after the other take twice as many dispatches.
   */
  async inferPackedTowers(other: DynamicBottleneck, ys: tf.Tensor2D, layout: PyramidLayout, ctx: ForwardContext): Promise<tf.Tensor2D> {
    if (!this.gate || !other.gate) throw new Error('DynamicBottleneck.inferPackedTowers: the Fix head has no gates; run infer() per level');
    if (this.unit !== other.unit) throw new Error(`DynamicBottleneck.inferPackedTowers: the towers' convs differ (${this.unit} and ${other.unit} multiply-adds a pixel)`);
    const g = SpatialGate.inferPackedTowers([this.gate, other.gate], ys, layout);
    try {
      ctx.recordPyramid(this.gate.name, g, layout);
      ctx.recordPyramid(other.gate.name, g, layout, pyramidRows(layout));
      // a map of both towers charges what each would: its sums are the two towers' sums
      this.chargePackedGate(g, stackedLayout(layout, layout), ctx);
      return await sparseConvPairTowers(ys, layout, g, ...this.towerConvs(other));
    } finally {
      g.dispose();
    }
  }

  /** Whether inferPackedTowers runs this node and `other` in one set of dispatches here (sparse-conv's towersRunAtOnce). */
  runsTowersAtOnce(other: DynamicBottleneck, layout: PyramidLayout, channels: number): boolean {
    return this.gate !== undefined && other.gate !== undefined && towersRunAtOnce(layout, channels, ...this.towerConvs(other));
  }

  /** Both convs of this node and of `other` as sparseConvPairTowers takes them: this tower's first. */
  private towerConvs(other: DynamicBottleneck): [TowerConvs, TowerConvs] {
    return [
      { filters: [this.conv1.weight, other.conv1.weight], norms: [this.norm1.params, other.norm1.params] },
      { filters: [this.conv2.weight, other.conv2.weight], norms: [this.norm2.params, other.norm2.params] },
    ];
  }

  /** chargeGated() of a packed pyramid's gate [P, 1]: conv1 with its 3x3 max-pool, conv2 with the gate. */
  private chargePackedGate(g: tf.Tensor2D, layout: PyramidLayout, ctx: ForwardContext): void {
    ctx.chargePyramid(g, layout, this.unit, { pooled: true });
    ctx.chargePyramid(g, layout, this.unit);
  }

  /** conv2 is charged with the gate, conv1 with its 3x3 max-pool (conv2 reads conv1's 3x3 neighbourhood). */
  private chargeGated(g: tf.Tensor4D, ctx: ForwardContext): void {
    ctx.record((this.gate as SpatialGate).name, g);
    ctx.charge(g, this.unit, { pooled: true });
    ctx.charge(g, this.unit);
  }
}
