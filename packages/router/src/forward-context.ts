import { type CostTerms, gateSumColumns, softCost, type PyramidGate, type PyramidLayout, pyramidRows, sumTensors, unpackPyramid } from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';

/**
 * What one forward pass collects besides the features: the cost charges of every gated conv and,
 * when asked, the gate maps (per module name, one map per call = per FPN level, P3 first).
 */
export class ForwardContext {
  /** Training: each charge's differentiable soft term, in the order charged. */
  private readonly softCharges: tf.Tensor1D[] = [];
  readonly gates: Record<string, tf.Tensor4D[]> = {};
  /**
   * The gate maps charged (kept until the pass's total) with their multiply-adds per pixel, summed
   * by a few kernels at the end (inference: soft and used; training: used, the count that needs no
   * gradient, where each charge took five kernels); and the per-image multiply-adds of the ungated
   * convs and of all convs at full density, which need no tensor.
   */
  private readonly gateMaps: { map: tf.Tensor4D | PyramidGate; unit: number; pooled: boolean }[] = [];
  private denseCost = 0;
  private fullCost = 0;

  constructor(
    readonly mode: 'train' | 'infer',
    readonly recordGates: boolean,
    /** Paper Eq. 4: the scale paths' soft cost keeps its gradient (official: detached). */
    readonly budgetOnScalePaths: boolean,
  ) {}

  /**
   * Charges `unit` multiply-adds per pixel under `gate` ([B,H,W,1], values in [0,1]); with `pooled`,
   * under its 3x3 max-pool ('same'), which inference takes as it sums (no pooled map).
   */
  charge(gate: tf.Tensor4D, unit: number, { detachSoft = false, pooled = false }: { detachSoft?: boolean; pooled?: boolean } = {}): void {
    const [, h, w] = gate.shape;
    // a kept clone shares the map's data (no copy): the caller may dispose its own handle
    this.gateMaps.push({ map: tf.keep(tf.clone(gate)), unit, pooled });
    this.fullCost += h * w * unit;
    if (this.mode === 'infer') return;
    // Kept: the charges outlive the tidy scope of the block that made them.
    // (the pooled map is left to the caller's tidy, as the charge's intermediate tensors are)
    this.softCharges.push(tf.keep(softCost(pooled ? (tf.maxPool(gate, 3, 1, 'same') as tf.Tensor4D) : gate, unit, { detachSoft })));
  }

  /**
   * Inference: charge() of every level of a packed pyramid's gate [P, 1] (pyramid.ts) at once, its
   * levels summed as they lie (no unpacking on webgpu).
   */
  chargePyramid(gate: tf.Tensor2D, layout: PyramidLayout, unit: number, { pooled = false }: { pooled?: boolean } = {}): void {
    if (this.mode !== 'infer') throw new Error('ForwardContext.chargePyramid: inference only (training charges differentiable maps)');
    this.gateMaps.push({ map: { packed: tf.keep(tf.clone(gate)), layout }, unit, pooled });
    for (const [h, w] of layout.sizes) this.fullCost += h * w * unit;
  }

  /** Charges an ungated conv: every pixel, soft = used = full. */
  chargeDense(like: tf.Tensor4D, unit: number): void {
    const [b, h, w] = like.shape;
    this.denseCost += h * w * unit;
    this.fullCost += h * w * unit;
    // training: a soft term in its place among the gated ones, so that their float32 sum keeps its order
    if (this.mode === 'train') this.softCharges.push(tf.keep(tf.fill([b], h * w * unit) as tf.Tensor1D));
  }

  record(name: string, gate: tf.Tensor4D): void {
    if (!this.recordGates) return;
    const list = this.gates[name] ?? [];
    // A kept clone: the caller may dispose its own handle (inference) or leave it to a tidy (training).
    list.push(tf.keep(tf.clone(gate)));
    this.gates[name] = list;
  }

  /** record() of every level of a packed pyramid's gate [P, 1] (rows firstRow .. of `gate`), P3 first (unpacked only when recording). */
  recordPyramid(name: string, gate: tf.Tensor2D, layout: PyramidLayout, firstRow = 0): void {
    if (!this.recordGates) return;
    const rows = pyramidRows(layout);
    const part = firstRow === 0 && gate.shape[0] === rows ? gate : tf.slice(gate, [firstRow, 0], [rows, -1]);
    for (const level of unpackPyramid(part, layout)) {
      this.record(name, level);
      level.dispose();
    }
    if (part !== gate) part.dispose();
  }

  /** The charges summed per image (new tensors; the charges stay owned by the context). */
  totalCost(batch: number): CostTerms {
    return tf.tidy(() => {
      const maps = this.gateMaps;
      const gated = maps.length > 0 ? gateSumColumns(maps.map((m) => m.map), maps.map((m) => m.unit), maps.map((m) => m.pooled)) : { soft: tf.zeros([batch]) as tf.Tensor1D, used: tf.zeros([batch]) as tf.Tensor1D };
      const withDense = (t: tf.Tensor1D) => (this.denseCost > 0 ? (tf.add(t, this.denseCost) as tf.Tensor1D) : t);
      const soft = this.mode === 'infer' ? withDense(gated.soft) : this.softCharges.length > 0 ? (sumTensors(this.softCharges) as tf.Tensor1D) : (tf.zeros([batch]) as tf.Tensor1D);
      return { soft, used: withDense(gated.used), full: tf.tensor1d(new Float32Array(batch).fill(this.fullCost)) };
    });
  }

  disposeCharges(): void {
    tf.dispose(this.softCharges);
    this.softCharges.length = 0;
    tf.dispose(this.gateMaps.map((m) => (m.map instanceof tf.Tensor ? m.map : m.map.packed)));
    this.gateMaps.length = 0;
    this.denseCost = 0;
    this.fullCost = 0;
  }
}
