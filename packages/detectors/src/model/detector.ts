import { ResNetFPN, normalizeImage } from '@dynhead/fpn';
import { DynamicHead, type HeadOutputs, budgetLoss } from '@dynhead/router';
import type { StoredTensor } from '@dynhead/safetensors';
import * as tf from '@tensorflow/tfjs-core';
import type { DetectorConfig } from '../config';
import type { DetectionBatch } from '../data/batch';
import type { LevelGrid } from '../fcos/locations';
import { detectorLosses, detectorPostprocess } from './kinds';
import type { Detections } from '../postprocess/detections';
import { mapToOriginal } from '../postprocess/nms';
import { InputError } from '../input-error';

/** Every loss term of one step; `total` is what is minimised. */
export interface LossResult {
  total: tf.Scalar;
  terms: Record<string, tf.Scalar>;
  /** Per image [B]: soft / full cost ratio and used multiply-adds. */
  budgetRatio: tf.Tensor1D;
  used: tf.Tensor1D;
  full: tf.Tensor1D;
}

export interface DetectResult {
  /** Per image, boxes in original-image pixels. */
  detections: Detections[];
  /** Per image multiply-adds of the head (inference path) and of the full head. */
  used: number[];
  full: number[];
  /** Gate maps per module, per level, when asked for (caller disposes). */
  gates?: Record<string, tf.Tensor4D[]>;
}

/** Parameters that Detectron's WEIGHT_DECAY_NORM applies to: GroupNorm / BatchNorm scales and shifts. */
export function isNormParameter(name: string): boolean {
  return /(^|\.)(bn\d*|gn\d*|norm\d*|[a-z_]*_norm|[a-z_]*norm)\.(weight|bias)$/.test(name) || /\.downsample\.1\.(weight|bias)$/.test(name);
}

/** The feature-map grid of each level for an input size (every conv halves with ceil). */
export function levelGrids(height: number, width: number, strides: number[]): LevelGrid[] {
  return strides.map((stride) => {
    let h = height;
    let w = width;
    for (let s = 1; s < stride; s *= 2) {
      h = Math.ceil(h / 2);
      w = Math.ceil(w / 2);
    }
    return { height: h, width: w, stride };
  });
}

/**
 * A one-stage detector: ResNet-FPN backbone, a head from @dynhead/router (dynamic, Fix or
 * conventional) and the detector kind's targets, losses and decoding.
 */
export class Detector {
  readonly backbone: ResNetFPN;
  readonly head: DynamicHead;
  private readonly params = new Map<string, tf.Variable>();

  constructor(readonly config: DetectorConfig) {
    this.backbone = new ResNetFPN({ ...config.backbone, seed: config.backbone.seed + config.solver.seed });
    const { lambda: _lambda, ...head } = config.head;
    this.head = new DynamicHead(head, 1000 + config.solver.seed);
    for (const part of [this.backbone.resnet, this.backbone.fpn]) {
      const prefix = part === this.backbone.resnet ? 'backbone.' : 'fpn.';
      for (const p of part.parameters()) if (p.variable) this.params.set(prefix + p.name, p.variable);
    }
    for (const [name, v] of this.head.namedWeights()) this.params.set(`head.${name}`, v);
  }

  /** Trainable variables by stable name (checkpoints and optimizer state key on these). */
  trainableVariables(): Map<string, tf.Variable> {
    return new Map([...this.params].filter(([, v]) => v.trainable));
  }

  grids(batch: DetectionBatch): LevelGrid[] {
    const [, H, W] = batch.images.shape;
    return levelGrids(H, W, this.config.head.strides);
  }

  private features(images: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => this.backbone.apply(normalizeImage(images, this.config.backbone.layout), true).p);
  }

  /** Training-mode forward and every loss term (call inside tf.variableGrads). */
  losses(batch: DetectionBatch, precomputedTargets?: unknown): LossResult {
    const p = this.features(batch.images);
    const out = this.head.apply(p, 'train', { recordGates: false });
    tf.dispose(p);
    const grids = this.grids(batch);
    const terms = detectorLosses(this.config, out, batch, grids, precomputedTargets);
    const c = this.config.head;
    if (c.kind === 'dynamic' && c.lambda > 0) terms.budget = budgetLoss(out.cost, c.lambda);
    const total = tf.addN(Object.values(terms)) as tf.Scalar;
    const budgetRatio = tf.div(out.cost.soft, out.cost.full) as tf.Tensor1D;
    disposeOutputs(out, [out.cost.used, out.cost.full]);
    return { total, terms, budgetRatio, used: out.cost.used, full: out.cost.full };
  }

  /** Inference (sparse head path) on a batch; boxes mapped back to each original image. */
  async detect(batch: DetectionBatch, options: { recordGates?: boolean } = {}): Promise<DetectResult> {
    const p = this.features(batch.images);
    let out: HeadOutputs;
    try {
      out = await this.head.infer(p, { recordGates: options.recordGates ?? false });
    } finally {
      tf.dispose(p);
    }
    const [used, full] = await Promise.all([out.cost.used.data(), out.cost.full.data()]);
    const raw = await detectorPostprocess(this.config, out, this.grids(batch));
    const detections = raw.map((d, b) => {
      const info = batch.infos[b];
      return mapToOriginal(d, info.scaleX, info.scaleY, info.originalWidth, info.originalHeight);
    });
    const gates = options.recordGates ? out.gates : undefined;
    disposeOutputs(out, [], !options.recordGates);
    return { detections, used: Array.from(used), full: Array.from(full), gates };
  }

  /** Every weight (tfjs layout) under its stable name. */
  async stateDict(): Promise<Map<string, StoredTensor>> {
    const out = new Map<string, StoredTensor>();
    for (const [name, v] of this.params) out.set(name, { dtype: 'float32', shape: [...v.shape], data: (await v.data()) as Float32Array });
    return out;
  }

  /** Loads what stateDict wrote; every name and shape must match (errors list the differences). */
  loadStateDict(tensors: Map<string, StoredTensor>, source = 'state dict'): void {
    const problems: string[] = [];
    for (const [name, v] of this.params) {
      const t = tensors.get(name);
      if (!t) problems.push(`missing ${name}`);
      else if (t.shape.join(',') !== v.shape.join(',')) problems.push(`${name}: shape [${t.shape}] in file, [${v.shape}] in model`);
    }
    for (const name of tensors.keys()) if (!this.params.has(name)) problems.push(`unexpected ${name}`);
    if (problems.length) throw new InputError(`${source}: weights do not fit config '${this.config.name}': ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? ` (+${problems.length - 10} more)` : ''}`);
    for (const [name, v] of this.params) {
      const t = tensors.get(name) as StoredTensor;
      tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array, t.shape, 'float32')));
    }
  }

  dispose(): void {
    this.backbone.dispose();
    this.head.dispose();
    this.params.clear();
  }
}

function disposeOutputs(out: HeadOutputs, keep: tf.Tensor[], gatesToo = true): void {
  const all: tf.Tensor[] = [...out.logits, ...out.bboxReg, ...out.centerness, out.cost.soft, out.cost.used, out.cost.full];
  if (gatesToo) for (const g of Object.values(out.gates)) all.push(...g);
  tf.dispose(all.filter((t) => !keep.includes(t)));
}
