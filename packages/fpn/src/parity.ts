import * as tf from '@tensorflow/tfjs-core';
import { nchwToNhwc, type SafetensorsFile, type StoredTensor } from '@dynhead/safetensors';
import type { BackboneConfig, ResNetDepth } from './config';
import { ResNetFPN } from './resnet-fpn';

export interface ParityGroup {
  /** Largest relative L2 error ||got - want|| / ||want|| in the group. */
  worst: number;
  tolerance: number;
  ok: boolean;
  /** Tensors compared. */
  count: number;
}

export interface BackboneParityReport {
  ok: boolean;
  worst: number;
  /** 'backbone' (C3..C5) and 'fpn' (P3..P7). */
  groups: Record<string, ParityGroup>;
  /** Relative L2 error per output (c3 .. p7). */
  tensors: Record<string, number>;
  config: BackboneConfig;
}

export interface BackboneParityOptions {
  /** Default: 1e-4 on webgpu, 1e-5 elsewhere (SPEC section 4). */
  tolerance?: number;
  /** File name for error messages. */
  source?: string;
}

const DEPTHS: ResNetDepth[] = [18, 34, 50, 101];

/** The model a backbone golden file describes, from its metadata (`arch`, `fpn_channels`, `p6_from`, `layout`). */
export function configFromGolden(file: SafetensorsFile, source = 'golden file'): Partial<BackboneConfig> {
  const m = file.metadata;
  const arch = /^resnet(\d+)$/.exec(m.arch ?? '');
  const depth = Number(arch?.[1]) as ResNetDepth;
  if (!arch || !DEPTHS.includes(depth)) throw new Error(`${source}: metadata 'arch' = ${JSON.stringify(m.arch)}; expected resnet18, resnet34, resnet50 or resnet101`);
  const fpnChannels = Number(m.fpn_channels);
  if (!Number.isInteger(fpnChannels) || fpnChannels < 1) throw new Error(`${source}: metadata 'fpn_channels' = ${JSON.stringify(m.fpn_channels)}; expected a positive integer`);
  const p6From = m.p6_from ?? 'p5';
  if (p6From !== 'p5' && p6From !== 'c5') throw new Error(`${source}: metadata 'p6_from' = ${JSON.stringify(m.p6_from)}; expected 'p5' or 'c5'`);
  const layout = /msra|cvpods|detectron/i.test(m.layout ?? '') ? 'msra' : 'torchvision';
  return { depth, fpnChannels, p6From, layout, freezeAt: 5 };
}

function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

function required(file: SafetensorsFile, name: string, source: string): StoredTensor {
  const t = file.tensors.get(name);
  if (!t) throw new Error(`${source}: tensor '${name}' is missing (a backbone golden file holds input.image and output.c3..c5, output.p3..p7)`);
  if (t.shape.length !== 4) throw new Error(`${source}: tensor '${name}' has shape [${t.shape}]; expected NCHW [B, C, H, W]`);
  return t;
}

/**
 * Runs the ResNet + FPN a golden file describes (SPEC section 4: torchvision ResNet in eval mode +
 * FeaturePyramidNetwork + LastLevelP6P7) on its `input.image` with its weights, on the active
 * backend, and compares C3..C5 and P3..P7 with the file's outputs.
 */
export async function backboneParity(file: SafetensorsFile, opts: BackboneParityOptions = {}): Promise<BackboneParityReport> {
  const source = opts.source ?? 'golden file';
  const tolerance = opts.tolerance ?? (tf.getBackend() === 'webgpu' ? 1e-4 : 1e-5);
  const config = configFromGolden(file, source);
  const image = required(file, 'input.image', source);
  const names = ['c3', 'c4', 'c5', 'p3', 'p4', 'p5', 'p6', 'p7'];
  const wanted = names.map((n) => required(file, `output.${n}`, source));
  const model = new ResNetFPN(config);
  try {
    model.loadStateDict(file, { source });
    const nhwc = nchwToNhwc(image.data, image.shape);
    const input = tf.tensor4d(nhwc.data, nhwc.shape as [number, number, number, number]);
    const out = model.apply(input);
    input.dispose();
    const got = [...out.c, ...out.p];
    const tensors: Record<string, number> = {};
    try {
      for (let i = 0; i < names.length; i++) {
        const want = nchwToNhwc(wanted[i].data, wanted[i].shape);
        if (got[i].shape.join() !== want.shape.join()) throw new Error(`${source}: output.${names[i]} is [${want.shape}] (NHWC) but the model gives [${got[i].shape}]`);
        tensors[names[i]] = relL2(await got[i].data(), want.data);
      }
    } finally {
      for (const t of got) t.dispose();
    }
    const group = (keys: string[]): ParityGroup => {
      const worst = Math.max(...keys.map((k) => tensors[k]));
      return { worst, tolerance, ok: worst <= tolerance, count: keys.length };
    };
    const groups = { backbone: group(names.slice(0, 3)), fpn: group(names.slice(3)) };
    const worst = Math.max(groups.backbone.worst, groups.fpn.worst);
    return { ok: groups.backbone.ok && groups.fpn.ok, worst, groups, tensors, config: model.config };
  } finally {
    model.dispose();
  }
}
