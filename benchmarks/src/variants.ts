import { convCost } from '@dynhead/sparse-conv';
import { conventionalHead, dynamicHead, fixHead, type HeadConfig } from '@dynhead/router';

export type Density = 'low' | 'mid' | 'high';

/**
 * Target used/full ratios of the gated head, from the official D8 results (head GFLOPs avg over
 * full, SPEC section 3): Low 33.3 / 397.2, Mid 83.9 / 397.2, High 277.5 / 397.2.
 */
export const DENSITY_TARGETS: Record<Density, number> = { low: 33.3 / 397.2, mid: 83.9 / 397.2, high: 277.5 / 397.2 };

export interface HeadVariant {
  /** Row label: "FCOS (4 conv)", "Fix D4", "Dynamic D8 Mid". */
  name: string;
  config: HeadConfig;
  density: Density | null;
}

const label = (d: Density) => d[0].toUpperCase() + d.slice(1);

/** Whether a head's name contains one of `only` (any case); every head when `only` is empty (the benches' --only). */
export function headMatches(name: string, only: string[]): boolean {
  return only.length === 0 || only.some((o) => name.toLowerCase().includes(o.toLowerCase()));
}

/** The benchmarked heads: the conventional FCOS head, Fix D4 / D8, dynamic D4 / D8 at each density. */
export function headVariants(channels: number): HeadVariant[] {
  const variants: HeadVariant[] = [
    { name: 'FCOS (4 conv)', config: { ...conventionalHead, channels, blocks: 4 }, density: null },
    { name: 'Fix D4', config: { ...fixHead, channels, blocks: 4 }, density: null },
    { name: 'Fix D8', config: { ...fixHead, channels, blocks: 8 }, density: null },
  ];
  for (const blocks of [4, 8]) {
    for (const density of ['low', 'mid', 'high'] as const) {
      variants.push({ name: `Dynamic D${blocks} ${label(density)}`, config: { ...dynamicHead, channels, blocks }, density });
    }
  }
  return variants;
}

/**
 * The head's full cost in multiply-adds per pixel (every level, both towers), as the official code
 * counts it (the golden files pin it down): a conventional conv is C*C*9 + C; a dynamic / Fix block
 * is two depthwise scale paths, each C*9 + C (plus, in the dynamic head, its C -> 1 gate conv C*9),
 * and a depth node of two convs (C*C*9 + C each). Predictors and resizing are not counted.
 */
export function fullCostPerPixel(config: HeadConfig): number {
  const c = config.channels;
  const conv = convCost({ kind: 'conv', inChannels: c, outChannels: c, kernel: 3 });
  const depthwise = convCost({ kind: 'depthwise', inChannels: c, outChannels: c, kernel: 3 });
  const pathGate = config.kind === 'dynamic' ? convCost({ kind: 'conv', inChannels: c, outChannels: 1, kernel: 3, norm: false }) : 0;
  const perBlock = config.kind === 'conventional' ? conv : 2 * (depthwise + pathGate) + 2 * conv;
  return 2 * config.blocks * perBlock;
}

/** GFLOPs as the paper reports them: multiply-adds / 2^30. */
export const toGFlops = (multiplyAdds: number) => multiplyAdds / 2 ** 30;
