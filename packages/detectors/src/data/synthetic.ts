import type { DetectionSample, RgbImage } from './batch';
import { mulberry32 } from './sampler';

/**
 * A synthetic detection set for tests and smoke runs: solid rectangles of three colours (the three
 * classes) on a noisy grey background, boxes exact. Image i is a pure function of (seed, i).
 */
export function syntheticDataset(count: number, width: number, height: number, seed = 0): { samples: DetectionSample[]; decode: (path: string) => Promise<RgbImage> } {
  const colours = [
    [220, 40, 40],
    [40, 200, 60],
    [50, 80, 230],
  ];
  const images = new Map<string, RgbImage>();
  const samples: DetectionSample[] = [];
  for (let i = 0; i < count; i++) {
    const rand = mulberry32(seed * 7919 + i);
    const data = new Uint8Array(width * height * 3);
    for (let k = 0; k < data.length; k++) data[k] = 100 + Math.floor(rand() * 40);
    const n = 1 + Math.floor(rand() * 3);
    const boxes: number[] = [];
    const labels: number[] = [];
    for (let g = 0; g < n; g++) {
      const w = Math.round(width * (0.15 + 0.35 * rand()));
      const h = Math.round(height * (0.15 + 0.35 * rand()));
      const x = Math.floor(rand() * (width - w));
      const y = Math.floor(rand() * (height - h));
      const c = Math.floor(rand() * 3);
      for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) data.set(colours[c], (yy * width + xx) * 3);
      boxes.push(x, y, x + w, y + h);
      labels.push(c);
    }
    const file = `synthetic-${i}.png`;
    images.set(file, { data, width, height });
    samples.push({ imageId: i + 1, file, width, height, boxes: Float32Array.from(boxes), labels: Int32Array.from(labels) });
  }
  const decode = async (path: string) => {
    const name = path.split('/').pop() as string;
    const img = images.get(name);
    if (!img) throw new Error(`${path}: not a synthetic image`);
    return img;
  };
  return { samples, decode };
}
