import * as tf from '@tensorflow/tfjs-core';
import type { SafetensorsFile, StoredTensor } from '@dynhead/safetensors';
import { type BackboneConfig, resolveBackboneConfig } from './config';
import { FeaturePyramid } from './fpn';
import { checkpointNames } from './name-map';
import { ResNet } from './resnet';
import { assignParameters, collectParameters, type PartParameters } from './weights';

export interface BackboneOutputs {
  /** C3, C4, C5 (strides 8, 16, 32). */
  c: tf.Tensor4D[];
  /** P3..P7 (strides 8..128), `fpnChannels` each. */
  p: tf.Tensor4D[];
}

export interface LoadStateDictOptions {
  /** Prepended to every checkpoint name; default ''. */
  prefix?: string;
  /** Which weights the file must hold: 'backbone' for an ImageNet checkpoint (the FPN keeps its init). Default 'all'. */
  parts?: 'all' | 'backbone' | 'fpn';
  /** File name for error messages. */
  source?: string;
}

/** ResNet + feature pyramid: NHWC images (see normalizeImage) to C3..C5 and P3..P7. */
export class ResNetFPN {
  readonly config: BackboneConfig;
  readonly resnet: ResNet;
  readonly fpn: FeaturePyramid;

  constructor(config: Partial<BackboneConfig> = {}) {
    this.config = resolveBackboneConfig(config);
    this.resnet = new ResNet(this.config);
    this.fpn = new FeaturePyramid(this.resnet.outChannels, this.config.fpnChannels, this.config.p6From, this.config.seed);
  }

  /**
   * Frozen BN and GroupNorm behave the same in training and inference, so `training` changes
   * nothing today; it is part of the signature for norms that will differ.
   */
  apply(images: tf.Tensor4D, training = false): BackboneOutputs {
    void training;
    if (images.rank !== 4 || images.shape[3] !== 3) throw new Error(`ResNetFPN.apply: images must be NHWC [B, H, W, 3], got [${images.shape}]`);
    if (images.dtype !== 'float32') throw new Error(`ResNetFPN.apply: images must be float32 (see normalizeImage), got ${images.dtype}`);
    return tf.tidy(() => {
      const c = this.resnet.apply(images);
      return { c, p: this.fpn.apply(c) };
    });
  }

  trainableVariables(): tf.Variable[] {
    return [...this.resnet.trainableVariables(), ...this.fpn.trainableVariables()];
  }

  /** Every weight held in a tf.Variable, under its checkpoint name (tfjs layout: filters [kh, kw, in, out]). */
  namedWeights(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const { part, parameters } of this.parts()) {
      for (const p of parameters) if (p.variable) out.set(checkpointNames(part, p.name, this.config.layout)[0], p.variable);
    }
    return out;
  }

  private parts(which: 'all' | 'backbone' | 'fpn' = 'all'): PartParameters[] {
    const out: PartParameters[] = [];
    if (which !== 'fpn') out.push({ part: 'backbone', parameters: this.resnet.parameters() });
    if (which !== 'backbone') out.push({ part: 'fpn', parameters: this.fpn.parameters() });
    return out;
  }

  /**
   * Loads torchvision-named weights (layout 'torchvision': `backbone.*`, `fpn.*`) or cvpods-named
   * ones (layout 'msra': `backbone.bottom_up.*`, `backbone.fpn_*`, `backbone.top_block.*`); see
   * name-map.ts. Throws WeightsMismatchError listing every missing, unexpected or misshaped name.
   */
  loadStateDict(file: SafetensorsFile | Map<string, StoredTensor>, opts: LoadStateDictOptions = {}): void {
    const tensors = file instanceof Map ? file : file.tensors;
    assignParameters(this.parts(opts.parts), tensors, { layout: this.config.layout, prefix: opts.prefix ?? '', source: opts.source ?? 'state dict' });
  }

  /** Every weight under its checkpoint name, torch layout (async: GPU tensors are read asynchronously). */
  stateDict(opts: { prefix?: string; parts?: 'all' | 'backbone' | 'fpn' } = {}): Promise<Map<string, StoredTensor>> {
    return collectParameters(this.parts(opts.parts), this.config.layout, opts.prefix ?? '');
  }

  dispose(): void {
    this.resnet.dispose();
    this.fpn.dispose();
  }
}
