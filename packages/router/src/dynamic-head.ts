import type { SafetensorsFile, StoredTensor } from '@dynhead/safetensors';
import { type CostTerms, packPyramid, type PyramidLayout, pyramidLayoutOf, pyramidRows, splitRows } from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';
import { type HeadConfig, validateHeadConfig } from './config';
import { ConventionalTower } from './conventional-tower';
import { DynamicScale } from './dynamic-scale';
import { ForwardContext } from './forward-context';
import { type HeadParam, ParamScope } from './param-scope';
import { Predictors } from './predictors';
import { type LoadStateDictOptions, loadStateDict, saveStateDict } from './state-dict';

export interface HeadOutputs {
  /** Per level (P3 first), NHWC: [B,H,W,numClasses], [B,H,W,4], [B,H,W,1]. */
  logits: tf.Tensor4D[];
  bboxReg: tf.Tensor4D[];
  centerness: tf.Tensor4D[];
  /** Multiply-adds per image, summed over every charged conv. */
  cost: CostTerms;
  /** Gate maps [B,H,W,1] per gate module (official module path), one per level; empty unless recorded. */
  gates: Record<string, tf.Tensor4D[]>;
}

export interface ForwardOptions {
  /** Default true: return every gate map in `gates` (for visualisation and parity). */
  recordGates?: boolean;
  /**
   * infer() only. Default true: where the backend runs a block's kernels for all levels at once
   * (webgpu), pack the levels into one tensor (a few dispatches a block instead of a few per level
   * and block); false runs the levels one by one, for comparison. The same numbers either way.
   */
  packLevels?: boolean;
  /**
   * infer() with packed levels only. Default true: where the backend runs them so (webgpu with a
   * GPU's kernel forms, not SwiftShader's), the two towers' depth nodes run at once, one set of
   * kernels for both (half the dispatches of a block's depth nodes); false runs the towers one after
   * the other, for comparison. The same numbers either way (to float32 rounding of the costs' sums).
   */
  mergeTowers?: boolean;
}

type Tower = { kind: 'blocks'; blocks: DynamicScale[] } | { kind: 'conventional'; tower: ConventionalTower };

/**
 * The recorded gates with the cls tower's modules first, then the bbox tower's, as the towers run
 * one after the other record them (merged, their blocks record in turns).
 */
function towersInOrder(gates: Record<string, tf.Tensor4D[]>): Record<string, tf.Tensor4D[]> {
  const names = Object.keys(gates);
  const tower = (name: string) => (name.startsWith('bbox_subnet') ? 1 : 0);
  return Object.fromEntries([...names.filter((n) => tower(n) === 0), ...names.filter((n) => tower(n) === 1)].map((n) => [n, gates[n]]));
}

/**
 * The FCOS head over P3..P7 with two towers (`cls_subnet`, `bbox_subnet`) and the predictors:
 * the fine-grained dynamic head, its Fix baseline, or the conventional head, per `config.kind`.
 * Variables carry the official state_dict names (see `namedWeights`).
 */
export class DynamicHead {
  readonly config: HeadConfig;
  private readonly registry = new Map<string, HeadParam>();
  private readonly towers: { cls: Tower; bbox: Tower };
  private readonly predictors: Predictors;

  constructor(config: HeadConfig, seed = 0) {
    validateHeadConfig(config);
    this.config = config;
    const root = ParamScope.root(this.registry, seed);
    const tower = (name: string): Tower => {
      const scope = root.child(name);
      if (config.kind === 'conventional') {
        return { kind: 'conventional', tower: new ConventionalTower(scope, config.channels, config.blocks, config.gnGroups) };
      }
      const gate = config.kind === 'dynamic' ? config.gate : null;
      const blocks = Array.from({ length: config.blocks }, (_, i) => new DynamicScale(scope.child(i), config.channels, config.gnGroups, gate));
      return { kind: 'blocks', blocks };
    };
    this.towers = { cls: tower('cls_subnet'), bbox: tower('bbox_subnet') };
    this.predictors = new Predictors(root, config);
  }

  /** Training mode: dense, GN over the whole map, differentiable (gates, costs and all). */
  apply(features: tf.Tensor4D[], mode: 'train' = 'train', options: ForwardOptions = {}): HeadOutputs {
    if (mode !== 'train') throw new Error(`DynamicHead.apply: mode must be 'train' (use infer() for inference), got '${mode}'`);
    this.validate(features);
    const ctx = new ForwardContext('train', options.recordGates ?? true, this.config.budgetOnScalePaths ?? false);
    type Dense = Pick<HeadOutputs, 'logits' | 'bboxReg' | 'centerness' | 'cost'>;
    const out = tf.tidy(() => {
      const cls = this.runTower(this.towers.cls, features, ctx);
      const bbox = this.runTower(this.towers.bbox, features, ctx);
      const dense: Dense = { ...this.predict(cls, bbox), cost: ctx.totalCost(features[0].shape[0]) };
      return dense as unknown as tf.TensorContainer;
    }) as unknown as Dense;
    ctx.disposeCharges();
    return { ...out, gates: ctx.gates };
  }

  /**
   * Inference mode: depth nodes run sparsely (only where their gates are on, GN statistics from the
   * active pixels of each image), as the official code at test time. Reads masks asynchronously.
   */
  async infer(features: tf.Tensor4D[], options: ForwardOptions = {}): Promise<HeadOutputs> {
    this.validate(features);
    const ctx = new ForwardContext('infer', options.recordGates ?? true, this.config.budgetOnScalePaths ?? false);
    // webgpu: both towers run on the five levels packed into one tensor, packed once for both
    const layout = pyramidLayoutOf(features, 'DynamicHead.infer');
    const packed = (options.packLevels ?? true) && this.runsPacked(layout) ? { x: packPyramid(features), layout } : undefined;
    try {
      if (packed) {
        const merged = (options.mergeTowers ?? true) && this.runsTowersAtOnce(layout);
        const [cls, bbox] = merged ? await this.inferTowersPacked(packed, ctx) : await this.inferTowersApartPacked(packed, ctx);
        try {
          // the predictors too run on the packed towers: their outputs are unpacked, not the towers'
          const predictions = this.predictors.inferPacked(cls, bbox, layout);
          return { ...predictions, cost: ctx.totalCost(features[0].shape[0]), gates: merged ? towersInOrder(ctx.gates) : ctx.gates };
        } finally {
          tf.dispose([cls, bbox]);
        }
      }
      const cls = await this.inferTower(this.towers.cls, features, ctx);
      const bbox = await this.inferTower(this.towers.bbox, features, ctx);
      const predictions = this.predict(cls, bbox, 'infer');
      tf.dispose([...cls, ...bbox]);
      return { ...predictions, cost: ctx.totalCost(features[0].shape[0]), gates: ctx.gates };
    } finally {
      packed?.x.dispose();
      ctx.disposeCharges();
    }
  }

  /** Whether every block of both towers runs on packed maps of this layout (webgpu; DynamicScale.runsPacked). */
  private runsPacked(layout: PyramidLayout): boolean {
    return [this.towers.cls, this.towers.bbox].every((t) => t.kind === 'blocks' && t.blocks.every((b) => b.runsPacked(layout, this.config.channels)));
  }

  /** Whether every block's two depth nodes run at once on packed maps of this layout (DynamicScale.runsTowersAtOnce). */
  private runsTowersAtOnce(layout: PyramidLayout): boolean {
    const { cls, bbox } = this.towers;
    if (cls.kind !== 'blocks' || bbox.kind !== 'blocks') return false;
    return cls.blocks.every((b, i) => b.runsTowersAtOnce(bbox.blocks[i], layout, this.config.channels));
  }

  trainableVariables(): tf.Variable[] {
    return [...this.registry.values()].map((p) => p.variable);
  }

  /** Every variable under its official PyTorch state_dict name. */
  namedWeights(): Map<string, tf.Variable> {
    return new Map([...this.registry].map(([name, p]) => [name, p.variable]));
  }

  /** Every parameter under its official name with its PyTorch layout (for exporters and weight decay rules). */
  parameters(): ReadonlyMap<string, HeadParam> {
    return this.registry;
  }

  /** Loads a PyTorch state_dict (official names, NCHW); the golden files keep it under prefix 'param.'. */
  loadStateDict(file: SafetensorsFile | Map<string, StoredTensor>, prefix = '', options: Omit<LoadStateDictOptions, 'prefix'> = {}): void {
    loadStateDict(this.registry, file, { ...options, prefix });
  }

  /** The head as a PyTorch state_dict (official names and layouts), ready for serializeSafetensors. */
  stateDict(): Promise<Map<string, StoredTensor>> {
    return saveStateDict(this.registry);
  }

  dispose(): void {
    for (const p of this.registry.values()) p.variable.dispose();
    this.registry.clear();
  }

  private validate(features: tf.Tensor4D[]): void {
    const levels = this.config.strides.length;
    if (!Array.isArray(features) || features.length !== levels) {
      throw new Error(`DynamicHead: expected ${levels} feature maps (one per stride ${this.config.strides.join(', ')}), got ${features?.length}`);
    }
    const batch = features[0].shape[0];
    features.forEach((f, l) => {
      if (f.rank !== 4 || f.shape[3] !== this.config.channels || f.shape[0] !== batch) {
        throw new Error(
          `DynamicHead: features[${l}] must be NHWC [${batch},H,W,${this.config.channels}], got [${f.shape.join(',')}]`,
        );
      }
    });
  }

  private runTower(tower: Tower, xs: tf.Tensor4D[], ctx: ForwardContext): tf.Tensor4D[] {
    if (tower.kind === 'conventional') return tower.tower.apply(xs, ctx);
    let ys = xs;
    for (const block of tower.blocks) ys = block.apply(ys, ctx);
    return ys;
  }

  /** The tower on the packed features (runsPacked): its blocks one kernel per step for all levels -> its packed output (a new tensor). */
  private async inferTowerPacked(tower: Tower, packed: { x: tf.Tensor2D; layout: PyramidLayout }, ctx: ForwardContext): Promise<tf.Tensor2D> {
    if (tower.kind === 'conventional') throw new Error('DynamicHead: the conventional tower runs level by level');
    let x = packed.x;
    try {
      for (const block of tower.blocks) {
        const next = await block.inferPacked(x, packed.layout, ctx);
        if (x !== packed.x) x.dispose();
        x = next;
      }
    } catch (e) {
      if (x !== packed.x) x.dispose();
      throw e;
    }
    return x === packed.x ? tf.clone(x) : x;
  }

  /** Both towers on the packed features (runsPacked), one after the other -> [cls output, bbox output] (new tensors). */
  private async inferTowersApartPacked(packed: { x: tf.Tensor2D; layout: PyramidLayout }, ctx: ForwardContext): Promise<[tf.Tensor2D, tf.Tensor2D]> {
    const cls = await this.inferTowerPacked(this.towers.cls, packed, ctx);
    try {
      return [cls, await this.inferTowerPacked(this.towers.bbox, packed, ctx)];
    } catch (e) {
      cls.dispose();
      throw e;
    }
  }

  /**
   * Both towers on the packed features (runsPacked), block i of each together: each block's scale
   * node on its own tower's map, then the two depth nodes in one set of kernels
   * (DynamicScale.inferPackedWith). The towers' maps stay stacked from block to block (each scale
   * node reads its tower's rows where they lie) and are cut apart only for the predictors ->
   * [cls output, bbox output] (new tensors).
   */
  private async inferTowersPacked(packed: { x: tf.Tensor2D; layout: PyramidLayout }, ctx: ForwardContext): Promise<[tf.Tensor2D, tf.Tensor2D]> {
    const { cls, bbox } = this.towers;
    if (cls.kind === 'conventional' || bbox.kind === 'conventional') throw new Error('DynamicHead: the conventional tower runs level by level');
    const rows = pyramidRows(packed.layout);
    // the first blocks both read the features
    let input: { x: tf.Tensor2D; firstRows: [number, number] } = { x: packed.x, firstRows: [0, 0] };
    let stacked: tf.Tensor2D | undefined;
    try {
      for (const [i, block] of cls.blocks.entries()) {
        const next = await block.inferPackedWith(bbox.blocks[i], input, packed.layout, ctx);
        stacked?.dispose();
        stacked = next;
        input = { x: next, firstRows: [0, rows] };
      }
      if (!stacked) return [tf.clone(packed.x), tf.clone(packed.x)];
      return splitRows(stacked, [rows, rows]) as [tf.Tensor2D, tf.Tensor2D];
    } finally {
      stacked?.dispose();
    }
  }

  private async inferTower(tower: Tower, xs: tf.Tensor4D[], ctx: ForwardContext): Promise<tf.Tensor4D[]> {
    if (tower.kind === 'conventional') return tower.tower.infer(xs, ctx);
    let ys = xs;
    // each block hands the next its path gate convs, taken as it wrote the next block's input (wasm)
    let gateConvs: tf.Tensor4D[][] | undefined;
    for (const [i, block] of tower.blocks.entries()) {
      const { outs, nextGateConvs } = await block.inferChained(ys, ctx, gateConvs, tower.blocks[i + 1]);
      if (ys !== xs) tf.dispose(ys);
      if (gateConvs) tf.dispose(gateConvs.flat());
      ys = outs;
      gateConvs = nextGateConvs;
    }
    if (gateConvs) tf.dispose(gateConvs.flat());
    return ys === xs ? ys.map((y) => tf.clone(y)) : ys;
  }

  private predict(cls: tf.Tensor4D[], bbox: tf.Tensor4D[], mode: 'apply' | 'infer' = 'apply'): Pick<HeadOutputs, 'logits' | 'bboxReg' | 'centerness'> {
    const out: Pick<HeadOutputs, 'logits' | 'bboxReg' | 'centerness'> = { logits: [], bboxReg: [], centerness: [] };
    cls.forEach((c, l) => {
      const p = this.predictors[mode](c, bbox[l], l);
      out.logits.push(p.logits);
      out.bboxReg.push(p.bboxReg);
      out.centerness.push(p.centerness);
    });
    return out;
  }
}
