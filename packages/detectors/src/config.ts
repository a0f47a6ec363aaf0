import { type BackboneConfig, msraResNet50Fpn, scratchResNetFpn } from '@dynhead/fpn';
import { type HeadConfig, conventionalHead, dynamicHead, fixHead } from '@dynhead/router';
import type { InputOptions } from './data/batch';
import type { FocalLossOptions } from './losses/focal';
import type { IouLossType } from './losses/giou';
import type { LrSchedule } from './train/schedule';
import type { SgdOptions } from './train/sgd';
import { InputError } from './input-error';

export type DetectorKind = 'fcos' | 'retinanet' | 'atss' | 'freeanchor';

/** A head from @dynhead/router plus the weight of its budget loss (0 for static heads). */
export interface HeadChoice extends HeadConfig {
  lambda: number;
}

export interface FcosOptions {
  sizesOfInterest: [number, number][];
  centerSamplingRadius: number;
  pointOffset: number;
  iouLossType: IouLossType;
}

export interface AnchorOptions {
  /** Anchor side at each level (before scales), usually 4 * stride (RetinaNet) or 8 * stride (ATSS). */
  sizes: number[];
  scales: number[];
  aspectRatios: number[];
  /** RetinaNet matching. */
  iouThresholds: [number, number];
  /** ATSS: candidates per level. */
  atssTopk: number;
  smoothL1Beta: number;
  boxWeights: [number, number, number, number];
  /** FreeAnchor: bag size and IoU threshold of the positive bag. */
  freeAnchorBagSize: number;
  freeAnchorIouThreshold: number;
  freeAnchorFocalGamma: number;
  freeAnchorAlpha: number;
}

export interface TestOptions {
  topkCandidates: number;
  scoreThreshold: number;
  nmsThreshold: number;
  maxDetections: number;
}

export interface SolverOptions {
  schedule: LrSchedule;
  sgd: SgdOptions;
  /** Weight decay on GroupNorm / BatchNorm scales and shifts (Detectron's WEIGHT_DECAY_NORM). */
  weightDecayNorm: number;
  batchSize: number;
  maxIters: number;
  checkpointPeriod: number;
  /** 0 = only at the end. */
  evalPeriod: number;
  seed: number;
}

export interface DetectorConfig {
  name: string;
  detector: DetectorKind;
  backbone: BackboneConfig;
  head: HeadChoice;
  input: InputOptions & { hflipProb: number };
  focal: FocalLossOptions;
  fcos: FcosOptions;
  anchors: AnchorOptions;
  test: TestOptions;
  solver: SolverOptions;
}

const dynamic: HeadChoice = { ...dynamicHead, lambda: 0.1 };
const fix: HeadChoice = { ...fixHead, lambda: 0 };
const conventional: HeadChoice = { ...conventionalHead, lambda: 0 };
export const heads = { dynamic, fix, conventional };

/** FCOS as the official dynamic-head configs train it (SPEC section 3), with the D8 Mid head. */
export const fcos: DetectorConfig = {
  name: 'fcos-dynamic-d8-mid',
  detector: 'fcos',
  backbone: msraResNet50Fpn,
  head: dynamic,
  input: { shortestEdge: 800, maxSize: 1333, sizeDivisibility: 32, hflipProb: 0.5 },
  focal: { alpha: 0.25, gamma: 2 },
  fcos: {
    sizesOfInterest: [
      [-1, 64],
      [64, 128],
      [128, 256],
      [256, 512],
      [512, Number.POSITIVE_INFINITY],
    ],
    centerSamplingRadius: 1.5,
    pointOffset: 0,
    iouLossType: 'giou',
  },
  anchors: {
    sizes: [32, 64, 128, 256, 512],
    scales: [1, 2 ** (1 / 3), 2 ** (2 / 3)],
    aspectRatios: [0.5, 1, 2],
    iouThresholds: [0.4, 0.5],
    atssTopk: 9,
    smoothL1Beta: 0.1,
    boxWeights: [1, 1, 1, 1],
    freeAnchorBagSize: 50,
    freeAnchorIouThreshold: 0.6,
    freeAnchorFocalGamma: 2,
    freeAnchorAlpha: 0.5,
  },
  test: { topkCandidates: 1000, scoreThreshold: 0.05, nmsThreshold: 0.6, maxDetections: 100 },
  solver: {
    schedule: { baseLr: 0.01, steps: [60_000, 80_000], gamma: 0.1, warmupIters: 1000, warmupFactor: 0.001 },
    sgd: { momentum: 0.9, weightDecay: 1e-4, clipNorm: 0 },
    weightDecayNorm: 0,
    batchSize: 16,
    maxIters: 90_000,
    checkpointPeriod: 5000,
    evalPeriod: 0,
    seed: 0,
  },
};

// The paper's FCOS variants (SPEC section 3 / official table).
export const fcosD2: DetectorConfig = { ...fcos, name: 'fcos-d2', head: { ...conventional } };
export const fcosFixD4: DetectorConfig = { ...fcos, name: 'fcos-fix-d4', head: { ...fix, blocks: 4 } };
export const fcosFixD8: DetectorConfig = { ...fcos, name: 'fcos-fix-d8', head: { ...fix, blocks: 8 } };
export const fcosDynamicD2Mid: DetectorConfig = { ...fcos, name: 'fcos-dynamic-d2-mid', head: { ...dynamic, blocks: 2, lambda: 0.1 } };
export const fcosDynamicD4Mid: DetectorConfig = { ...fcos, name: 'fcos-dynamic-d4-mid', head: { ...dynamic, blocks: 4, lambda: 0.1 } };
export const fcosDynamicD8Low: DetectorConfig = { ...fcos, name: 'fcos-dynamic-d8-low', head: { ...dynamic, blocks: 8, lambda: 0.8 } };
export const fcosDynamicD8Mid: DetectorConfig = { ...fcos, name: 'fcos-dynamic-d8-mid', head: { ...dynamic, blocks: 8, lambda: 0.1 } };
export const fcosDynamicD8High: DetectorConfig = { ...fcos, name: 'fcos-dynamic-d8-high', head: { ...dynamic, blocks: 8, lambda: 0 } };

/**
 * A tiny FCOS for tests and smoke runs: an eighth-width GN ResNet-18 from scratch, 16-channel
 * head with 2 blocks, 3 classes, 64-pixel input (P7 is 1x1); a training step takes 1-3 s on cpu.
 */
export const fcosDynamicTiny: DetectorConfig = {
  ...fcos,
  name: 'fcos-dynamic-tiny',
  backbone: { ...scratchResNetFpn, widthMultiplier: 0.125, gnGroups: 4, fpnChannels: 16 },
  head: { ...dynamic, channels: 16, blocks: 2, gnGroups: 4, numClasses: 3, lambda: 0.1 },
  input: { shortestEdge: 48, maxSize: 64, sizeDivisibility: 32, hflipProb: 0.5 },
  fcos: {
    ...fcos.fcos,
    sizesOfInterest: [
      [-1, 8],
      [8, 16],
      [16, 32],
      [32, 64],
      [64, Number.POSITIVE_INFINITY],
    ],
  },
  solver: {
    ...fcos.solver,
    schedule: { baseLr: 0.01, steps: [], gamma: 0.1, warmupIters: 5, warmupFactor: 0.1 },
    batchSize: 2,
    maxIters: 20,
    checkpointPeriod: 10,
  },
};

export const retinanet: DetectorConfig = {
  ...fcos,
  name: 'retinanet-d2',
  detector: 'retinanet',
  head: { ...conventional, normRegTargets: false },
  test: { ...fcos.test, nmsThreshold: 0.5 },
};
export const retinanetDynamic: DetectorConfig = { ...retinanet, name: 'retinanet-dynamic-d8-mid', head: { ...dynamic, normRegTargets: false } };
export const atss: DetectorConfig = {
  ...fcos,
  name: 'atss-d2',
  detector: 'atss',
  head: { ...conventional, normRegTargets: false },
  anchors: { ...fcos.anchors, sizes: [64, 128, 256, 512, 1024], scales: [1], aspectRatios: [1] },
};
export const atssDynamic: DetectorConfig = { ...atss, name: 'atss-dynamic-d8-mid', head: { ...dynamic, normRegTargets: false } };
export const freeAnchor: DetectorConfig = { ...retinanet, name: 'freeanchor-d2', detector: 'freeanchor' };
export const freeAnchorDynamic: DetectorConfig = { ...freeAnchor, name: 'freeanchor-dynamic-d8-mid', head: { ...dynamic, normRegTargets: false } };

/** The tiny config for any detector kind. */
export function tinyConfig(detector: DetectorKind, head: HeadChoice['kind'] = 'dynamic'): DetectorConfig {
  const base = { retinanet, atss, freeanchor: freeAnchor, fcos }[detector];
  const h = { ...fcosDynamicTiny.head, kind: head, lambda: head === 'dynamic' ? 0.1 : 0, normRegTargets: detector === 'fcos' };
  return { ...fcosDynamicTiny, name: `${detector}-${head}-tiny`, detector, head: h, test: base.test, anchors: { ...base.anchors, sizes: base.anchors.sizes.map((s) => s / 16) } };
}

export const detectorConfigs: Record<string, DetectorConfig> = Object.fromEntries(
  [
    fcosD2,
    fcosFixD4,
    fcosFixD8,
    fcosDynamicD2Mid,
    fcosDynamicD4Mid,
    fcosDynamicD8Low,
    fcosDynamicD8Mid,
    fcosDynamicD8High,
    retinanet,
    retinanetDynamic,
    atss,
    atssDynamic,
    freeAnchor,
    freeAnchorDynamic,
    ...(['fcos', 'retinanet', 'atss', 'freeanchor'] as const).flatMap((d) => (['conventional', 'fix', 'dynamic'] as const).map((h) => tinyConfig(d, h))),
    fcosDynamicTiny,
  ].map((c) => [c.name, c]),
);

/** A config by name; the error lists the known names. */
export function getConfig(name: string): DetectorConfig {
  const c = detectorConfigs[name];
  if (!c) throw new InputError(`unknown config '${name}'; known: ${Object.keys(detectorConfigs).sort().join(', ')}`);
  return c;
}
