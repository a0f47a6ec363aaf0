import { type DetectorConfig, getConfig } from '../config';
import { resizedSize } from '../data/batch';
import { levelGrids } from '../model/detector';

export interface HeadFlops {
  config: string;
  kind: string;
  inputHeight: number;
  inputWidth: number;
  pixelsPerLevel: number[];
  /** Multiply-adds per pixel (per level) of the whole head with every gate on, both towers. */
  perPixel: number;
  /** GFLOPs (multiply-adds / 2^30) of the full head: the static cost, the dynamic head's upper bound. */
  fullGflops: number;
}

/**
 * The head's full cost, counted as the official code does (SPEC "Costs"): conv 3x3 C->C with GN
 * C*C*9 + C per pixel, depthwise C*9 + C; two towers; gates and predictors not counted.
 */
export function headFlops(config: DetectorConfig, image: { height: number; width: number } = { height: 800, width: 1333 }): HeadFlops {
  const { channels: C, blocks, kind, strides } = config.head;
  const conv = C * C * 9 + C;
  const depthwise = C * 9 + C;
  const perTower = kind === 'conventional' ? blocks * conv : blocks * (2 * depthwise + 2 * conv);
  const perPixel = 2 * perTower;
  const size = resizedSize(image.height, image.width, config.input);
  const div = config.input.sizeDivisibility;
  const H = Math.ceil(size.height / div) * div;
  const W = Math.ceil(size.width / div) * div;
  const pixels = levelGrids(H, W, strides).map((g) => g.height * g.width);
  const total = pixels.reduce((a, b) => a + b, 0) * perPixel;
  return { config: config.name, kind, inputHeight: H, inputWidth: W, pixelsPerLevel: pixels, perPixel, fullGflops: total / 2 ** 30 };
}

export function runFlops(o: { config: string; height?: number; width?: number }): HeadFlops {
  return headFlops(getConfig(o.config), { height: o.height ?? 800, width: o.width ?? 1333 });
}
