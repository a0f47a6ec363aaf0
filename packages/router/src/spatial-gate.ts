import { gateActivation, gateActivationWgsl, gateBiasInit } from '@dynhead/gate-activation';
import {
  type GateConvParams,
  activatedGateConv,
  activatedGateConvPyramid,
  activatedGateConvsPyramid,
  activatedGateConvTowers,
  type ConvActivation,
  conv2dFewOutputs,
  conv2dFewOutputsEach,
  gateConvsTakenAlong,
  concatRows,
  packPyramid,
  type PyramidLayout,
  splitRows,
  unpackPyramid,
} from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';
import type { GateConfig } from './config';
import type { ParamScope } from './param-scope';

/** The official gates start at 0.99 everywhere. */
const INITIAL_GATE = 0.99;

/**
 * The spatial gate of one path: conv 3x3 (C -> 1, with bias), then the gate activation, per pixel
 * (fine-grained) or, with `coarse`, after a global average pool (one factor per image and path).
 * Official names: `<path>.gate.gate_conv.{weight,bias}`.
 */
export class SpatialGate {
  /** The module path, e.g. `cls_subnet.0.depth_module.gate`: the key of its recorded maps. */
  readonly name: string;
  private readonly weight: tf.Variable<tf.Rank.R4>;
  private readonly bias: tf.Variable<tf.Rank.R1>;
  private readonly activate: (x: tf.Tensor, bias?: tf.Tensor) => tf.Tensor;
  /** The per-pixel activation in the form a conv program takes (webgpu), where the kind has one. */
  private readonly fused: ConvActivation | undefined;

  constructor(
    scope: ParamScope,
    channels: number,
    private readonly gate: GateConfig,
  ) {
    if (gate.kind === 'softmax') {
      throw new Error("SpatialGate: 'softmax' gates share one pixel between paths and have no per-path form; use geReTanH, reTanH or sigmoid");
    }
    this.name = scope.prefix;
    const conv = scope.child('gate_conv');
    this.weight = conv.conv('weight', 3, channels, 1, { normal: 0.01 });
    this.bias = conv.vector('bias', 1, { constant: gateBiasInit(gate.kind, { tau: gate.tau, initGate: INITIAL_GATE }) });
    this.activate = gateActivation(gate.kind, { tau: gate.tau });
    const wgsl = gate.coarse ? undefined : gateActivationWgsl(gate.kind, { tau: gate.tau });
    this.fused = wgsl === undefined ? undefined : { wgsl, ops: (conv, bias) => this.activate(conv, bias) as tf.Tensor4D };
  }

  /** Gate map [B,H,W,1] of the path's input x [B,H,W,C]. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return this.gateOf(() => tf.conv2d(x, this.weight, 1, 'same'));
  }

  /**
   * The same map at inference, its C -> 1 conv in the form that is fastest on the backend (not
   * differentiable); on webgpu the conv, bias and activation in one dispatch.
   */
  infer(x: tf.Tensor4D): tf.Tensor4D {
    if (this.fused) return activatedGateConv(x, this.weight, this.bias, this.fused);
    return this.gateOf(() => conv2dFewOutputs(x, this.weight));
  }

  /**
   * infer() of every level of a packed pyramid x [P, C] -> its gate [P, 1] (pyramid.ts): on webgpu
   * one dispatch for all levels; elsewhere, and for coarse gates, level by level.
   */
  inferPacked(x: tf.Tensor2D, layout: PyramidLayout): tf.Tensor2D {
    if (this.fused) return activatedGateConvPyramid(x, layout, this.weight, this.bias, this.fused);
    return tf.tidy(() => packPyramid(unpackPyramid(x, layout).map((level) => this.infer(level))));
  }

  /**
   * Two towers' gates at once: x [2P, C] holds tower 0's packed pyramid then tower 1's, and gate t
   * is tower t's -> [2P, 1] (on webgpu one dispatch, activatedGateConvTowers; elsewhere each
   * tower's inferPacked, stacked).
   */
  static inferPackedTowers(gates: [SpatialGate, SpatialGate], x: tf.Tensor2D, layout: PyramidLayout): tf.Tensor2D {
    const fused = SpatialGate.sharedActivation(gates);
    if (fused) return activatedGateConvTowers(x, layout, [{ filter: gates[0].weight, bias: gates[0].bias }, { filter: gates[1].weight, bias: gates[1].bias }], fused);
    return tf.tidy(() => {
      const rows = x.shape[0] / 2;
      const towers = splitRows(x, [rows, rows]) as tf.Tensor2D[];
      return concatRows(towers.map((t, i) => gates[i].inferPacked(t, layout)));
    });
  }

  /**
   * Two gates' convs as one program takes them along with other work (scalePathsWithGates): their
   * filters and biases and their shared activation, or undefined where either has no per-pixel
   * form or their activations differ.
   */
  static convPair(gates: [SpatialGate, SpatialGate]): { params: [GateConvParams, GateConvParams]; activation: ConvActivation } | undefined {
    const activation = SpatialGate.sharedActivation(gates);
    if (!activation) return undefined;
    const [a, b] = gates;
    return { params: [{ filter: a.weight, bias: a.bias }, { filter: b.weight, bias: b.bias }], activation };
  }

  /** The per-pixel activation every one of these gates has, the same code for all; else undefined. */
  private static sharedActivation(gates: SpatialGate[]): ConvActivation | undefined {
    const fused = gates[0]?.fused;
    return fused && gates.every((g) => g.fused?.wgsl === fused.wgsl) ? fused : undefined;
  }

  /**
   * inferPacked() of several gates on the same pyramid x, their maps one after another [n * P, 1]:
   * on webgpu the scale node's two path gates in one dispatch that reads x once (same activation).
   */
  static inferPackedMany(gates: SpatialGate[], x: tf.Tensor2D, layout: PyramidLayout): tf.Tensor2D {
    const fused = SpatialGate.sharedActivation(gates);
    if (fused) return activatedGateConvsPyramid(x, layout, gates.map((g) => ({ filter: g.weight, bias: g.bias })), fused);
    return tf.tidy(() => concatRows(gates.map((g) => g.inferPacked(x, layout))));
  }

  /**
   * The inference maps of several gates on the same input, their convs in one pass over x where
   * the backend fuses them (wasm): the scale node's two path gates.
   */
  static inferMany(gates: SpatialGate[], x: tf.Tensor4D): tf.Tensor4D[] {
    if (gates.length === 1 || !gateConvsTakenAlong()) return gates.map((g) => g.infer(x));
    return tf.tidy(() => {
      const logits = conv2dFewOutputsEach(x, gates.map((g) => g.weight));
      return gates.map((g, i) => g.gateOf(() => logits[i]));
    });
  }

  /** The inference map from this gate's conv of x, computed elsewhere (fused into the op that wrote x). */
  inferFromConv(conv: tf.Tensor4D): tf.Tensor4D {
    return this.gateOf(() => conv);
  }

  /** This gate's conv filter [3, 3, C, 1], for ops that take its conv along with other work. */
  get convFilter(): tf.Tensor4D {
    return this.weight;
  }

  private gateOf(conv: () => tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      // the bias goes in with the activation: one kernel on webgpu at inference
      if (!this.gate.coarse) return this.activate(conv(), this.bias) as tf.Tensor4D;
      const logits = tf.add(conv(), this.bias) as tf.Tensor4D;
      const pooled = tf.mean(logits, [1, 2], true);
      return tf.broadcastTo(this.activate(pooled), logits.shape) as tf.Tensor4D;
    });
  }
}
