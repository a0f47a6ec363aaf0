/** What a ResNet + FPN is made of; compose variants by spreading over `resnetFpnDefaults`. */

export type ResNetDepth = 18 | 34 | 50 | 101;
/**
 * 'torchvision': stride in the bottleneck's 3x3 conv, RGB input normalised by ImageNet mean/std.
 * 'msra' (Detectron / cvpods): stride in the bottleneck's first 1x1 conv, BGR input minus
 * [103.53, 116.28, 123.675], std 1. The layout also picks the weight names (see name-map.ts).
 */
export type ResNetLayout = 'torchvision' | 'msra';
/** 'frozenbn': batch norm folded to a fixed scale and shift (pretrained weights); 'gn': trainable GroupNorm (from scratch). */
export type BackboneNorm = 'frozenbn' | 'gn';
export type P6Source = 'p5' | 'c5';

export interface BackboneConfig {
  depth: ResNetDepth;
  layout: ResNetLayout;
  /** Scales every width (stem 64, stages 64..512 x expansion); widths are rounded to multiples of 8. */
  widthMultiplier: number;
  norm: BackboneNorm;
  /** GroupNorm groups (largest divisor of the width not above this); used when norm is 'gn'. */
  gnGroups: number;
  /** 0: all trainable; 1: stem frozen; 2: stem + res2 frozen (the detection default); ... 5: whole ResNet. */
  freezeAt: number;
  fpnChannels: number;
  /** P6 = conv3x3 s2 of P5 (torchvision when C5 width == fpnChannels) or of C5 (cvpods FCOS). */
  p6From: P6Source;
  /** Batch-norm epsilon folded into the frozen scale. */
  bnEps: number;
  /** Seed for the random initialisation used when no weights are loaded. */
  seed: number;
}

export const resnetFpnDefaults: BackboneConfig = {
  depth: 50,
  layout: 'torchvision',
  widthMultiplier: 1,
  norm: 'frozenbn',
  gnGroups: 32,
  freezeAt: 2,
  fpnChannels: 256,
  p6From: 'p5',
  bnEps: 1e-5,
  seed: 0,
};

/** The backbone of the official FCOS + dynamic head configs: MSRA ResNet-50, P6 from C5. */
export const msraResNet50Fpn: BackboneConfig = { ...resnetFpnDefaults, layout: 'msra', p6From: 'c5' };

/** A small ResNet trained from scratch: GroupNorm, nothing frozen. */
export const scratchResNetFpn: BackboneConfig = { ...resnetFpnDefaults, depth: 18, widthMultiplier: 0.25, norm: 'gn', freezeAt: 0, fpnChannels: 64 };

export interface StagePlan {
  /** torchvision stage name: layer1..layer4 (= res2..res5). */
  name: string;
  blocks: number;
  /** Bottleneck inner width (basic blocks: the block width). */
  width: number;
  outChannels: number;
  stride: number;
}

export interface ResNetPlan {
  bottleneck: boolean;
  stemChannels: number;
  stages: StagePlan[];
}

const BLOCKS: Record<ResNetDepth, number[]> = { 18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3] };

export function scaledWidth(base: number, multiplier: number): number {
  if (multiplier === 1) return base;
  return Math.max(8, Math.round((base * multiplier) / 8) * 8);
}

export function resnetPlan(config: BackboneConfig): ResNetPlan {
  const bottleneck = config.depth >= 50;
  const expansion = bottleneck ? 4 : 1;
  const stages = BLOCKS[config.depth].map((blocks, i) => {
    const width = scaledWidth(64 * 2 ** i, config.widthMultiplier);
    return { name: `layer${i + 1}`, blocks, width, outChannels: width * expansion, stride: i === 0 ? 1 : 2 };
  });
  return { bottleneck, stemChannels: scaledWidth(64, config.widthMultiplier), stages };
}

export class BackboneConfigError extends Error {
  override name = 'BackboneConfigError';
}

/** Fills defaults and rejects impossible settings, naming the field at fault. */
export function resolveBackboneConfig(config: Partial<BackboneConfig> = {}): BackboneConfig {
  const c = { ...resnetFpnDefaults, ...config };
  const bad = (field: keyof BackboneConfig, why: string) => new BackboneConfigError(`BackboneConfig.${field} = ${JSON.stringify(c[field])}: ${why}`);
  if (!(c.depth in BLOCKS)) throw bad('depth', 'expected one of 18, 34, 50, 101');
  if (c.layout !== 'torchvision' && c.layout !== 'msra') throw bad('layout', "expected 'torchvision' or 'msra'");
  if (c.norm !== 'frozenbn' && c.norm !== 'gn') throw bad('norm', "expected 'frozenbn' or 'gn'");
  if (c.p6From !== 'p5' && c.p6From !== 'c5') throw bad('p6From', "expected 'p5' or 'c5'");
  if (!(c.widthMultiplier > 0) || !Number.isFinite(c.widthMultiplier)) throw bad('widthMultiplier', 'expected a positive number');
  if (!Number.isInteger(c.freezeAt) || c.freezeAt < 0 || c.freezeAt > 5) throw bad('freezeAt', 'expected an integer 0..5');
  if (!Number.isInteger(c.fpnChannels) || c.fpnChannels < 1) throw bad('fpnChannels', 'expected a positive integer');
  if (!Number.isInteger(c.gnGroups) || c.gnGroups < 1) throw bad('gnGroups', 'expected a positive integer');
  if (!(c.bnEps >= 0)) throw bad('bnEps', 'expected a non-negative number');
  return c;
}
