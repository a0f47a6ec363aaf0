import { type DetectorConfig, fcos, heads } from '@dynhead/detectors';
import { scratchResNetFpn } from '@dynhead/fpn';

export type HeadKind = 'conventional' | 'fix' | 'dynamic';

/**
 * FCOS for BCCD on a 2-core CPU: a quarter-width GroupNorm ResNet-18 trained from scratch, 32-channel
 * FPN and head, 256-pixel shortest edge. Object sizes of interest are halved, as the images are
 * about a third of COCO's resolution. The conventional head has 4 convs per tower; the Fix and
 * dynamic heads have 2 blocks (2 depthwise scale paths + a 2-conv bottleneck each), the same full cost.
 */
export const bccdBase: DetectorConfig = {
  ...fcos,
  name: 'bccd-fcos',
  backbone: { ...scratchResNetFpn, widthMultiplier: 0.25, gnGroups: 8, fpnChannels: 32 },
  head: { ...heads.dynamic, channels: 32, gnGroups: 8, numClasses: 3, blocks: 2, lambda: 0.1 },
  input: { shortestEdge: 192, maxSize: 256, sizeDivisibility: 32, hflipProb: 0.5 },
  fcos: {
    ...fcos.fcos,
    sizesOfInterest: [
      [-1, 32],
      [32, 64],
      [64, 128],
      [128, 256],
      [256, Number.POSITIVE_INFINITY],
    ],
  },
  solver: {
    ...fcos.solver,
    schedule: { baseLr: 0.01, steps: [], gamma: 0.1, warmupIters: 50, warmupFactor: 0.001 },
    sgd: { momentum: 0.9, weightDecay: 1e-4, clipNorm: 10 },
    batchSize: 2,
    maxIters: 160,
    checkpointPeriod: 100,
    evalPeriod: 0,
    seed: 0,
  },
};

/** The four heads of the comparison; `lambda` is the dynamic head's budget weight. */
export function bccdConfig(kind: HeadKind, lambda = 0.1, iters = bccdBase.solver.maxIters): DetectorConfig {
  const head =
    kind === 'conventional'
      ? { ...bccdBase.head, kind, blocks: 4, lambda: 0 }
      : kind === 'fix'
        ? { ...bccdBase.head, kind, lambda: 0 }
        : { ...bccdBase.head, kind, lambda };
  const steps = [Math.round(iters * 0.8), Math.round(iters * 0.93)];
  return {
    ...bccdBase,
    name: kind === 'dynamic' ? `bccd-fcos-dynamic-l${lambda}` : `bccd-fcos-${kind}`,
    head,
    solver: { ...bccdBase.solver, maxIters: iters, schedule: { ...bccdBase.solver.schedule, steps } },
  };
}
