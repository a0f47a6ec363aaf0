import type { GateKind } from '@dynhead/gate-activation';

/** Which head: the fine-grained dynamic head, its gate-free "Fix" baseline, or the conventional FCOS head. */
export type HeadKind = 'dynamic' | 'fix' | 'conventional';

export interface GateConfig {
  kind: GateKind;
  /** GeReTanH's tau (paper's best 1.5); ignored by the other kinds. */
  tau: number;
  /** Coarse-grained gates (paper Table 1): global average pool before the activation, one factor per image. */
  coarse?: boolean;
}

export interface HeadConfig {
  kind: HeadKind;
  /** FPN channels C; every tower keeps C channels. */
  channels: number;
  /** dynamic / fix: blocks (scale node + depth node) per tower; conventional: convs per tower. */
  blocks: number;
  numClasses: number;
  gnGroups: number;
  gate: GateConfig;
  /** One stride per FPN level, finest first (P3..P7: 8..128). */
  strides: number[];
  /** FCOS NORM_REG_TARGETS: box output ReLU(scale * pred) * stride, else exp(scale * pred). */
  normRegTargets: boolean;
  /** FCOS CENTERNESS_ON_REG: centerness predicted from the bbox tower, else from the cls tower. */
  centernessOnReg: boolean;
  /** Focal-loss prior: cls_score's bias starts at -ln((1 - p) / p). */
  priorProb: number;
  /**
   * The paper's Eq. 4 budget over every path: the scale paths' soft cost keeps its gradient.
   * Default false, as the official code, which detaches the gate in the depthwise paths' soft cost.
   */
  budgetOnScalePaths?: boolean;
}

/** The official D8 dynamic head (FCOS, GeReTanH tau 1.5, 256 channels). */
export const dynamicHead: HeadConfig = {
  kind: 'dynamic',
  channels: 256,
  blocks: 8,
  numClasses: 80,
  gnGroups: 32,
  gate: { kind: 'geReTanH', tau: 1.5, coarse: false },
  strides: [8, 16, 32, 64, 128],
  normRegTargets: true,
  centernessOnReg: true,
  priorProb: 0.01,
  budgetOnScalePaths: false,
};

/** The "Fix" baseline: the dynamic head's paths with every gate fixed at 1 (official FCOSFixHead, D4). */
export const fixHead: HeadConfig = { ...dynamicHead, kind: 'fix', blocks: 4 };

/** The conventional FCOS head: 4 x (conv 3x3 + GN + ReLU) per tower (the paper's "D2" baseline). */
export const conventionalHead: HeadConfig = { ...dynamicHead, kind: 'conventional', blocks: 4 };

/** Throws a message naming the field at fault. */
export function validateHeadConfig(config: HeadConfig): void {
  const bad = (field: string, why: string, value: unknown): never => {
    throw new Error(`HeadConfig.${field}: ${why}, got ${JSON.stringify(value)}`);
  };
  if (!['dynamic', 'fix', 'conventional'].includes(config.kind)) bad('kind', "must be 'dynamic', 'fix' or 'conventional'", config.kind);
  for (const field of ['channels', 'blocks', 'numClasses', 'gnGroups'] as const) {
    if (!Number.isInteger(config[field]) || config[field] < 1) bad(field, 'must be a positive integer', config[field]);
  }
  if (config.channels % config.gnGroups !== 0) bad('gnGroups', `must divide channels (${config.channels})`, config.gnGroups);
  if (!Array.isArray(config.strides) || config.strides.length < 1 || config.strides.some((s) => !(s > 0))) {
    bad('strides', 'must be a non-empty list of positive numbers', config.strides);
  }
  if (!(config.priorProb > 0 && config.priorProb < 1)) bad('priorProb', 'must lie in (0, 1)', config.priorProb);
  if (!(config.gate.tau >= 0) || !Number.isFinite(config.gate.tau)) bad('gate.tau', 'must be a finite number >= 0', config.gate.tau);
}
