/** Bench masks with an exact active-pixel count: i.i.d. random pixels, or connected blobs as gates produce. */

import { mulberry32 } from '@dynhead/detectors';

export type MaskPattern = 'blob' | 'random';

/** A smooth random field: coarse noise (one value per `cell` pixels) bilinearly upsampled. */
function smoothField(h: number, w: number, cell: number, rand: () => number): Float64Array {
  const gh = Math.ceil(h / cell) + 1;
  const gw = Math.ceil(w / cell) + 1;
  const grid = Float64Array.from({ length: gh * gw }, rand);
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    const fy = y / cell;
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = x / cell;
      const x0 = Math.floor(fx);
      const tx = fx - x0;
      const g = (yy: number, xx: number) => grid[yy * gw + xx];
      out[y * w + x] =
        (1 - ty) * ((1 - tx) * g(y0, x0) + tx * g(y0, x0 + 1)) + ty * ((1 - tx) * g(y0 + 1, x0) + tx * g(y0 + 1, x0 + 1));
    }
  }
  return out;
}

/**
 * One image's 0/1 mask of h*w pixels with exactly round(density*h*w) ones: the pixels with the
 * highest scores, where scores are i.i.d. ('random') or a smooth field plus a little noise ('blob',
 * so the ones form connected regions whose count and size vary with the seed).
 */
export function benchMask(h: number, w: number, density: number, pattern: MaskPattern, seed: number): Float32Array {
  if (!(density >= 0 && density <= 1)) throw new Error(`benchMask: density must be in [0, 1], got ${density}`);
  const rand = mulberry32(seed);
  const n = h * w;
  const score =
    pattern === 'random'
      ? Float64Array.from({ length: n }, rand)
      : (() => {
          const cell = Math.max(4, Math.round(Math.min(h, w) / 6));
          const f = smoothField(h, w, cell, rand);
          for (let i = 0; i < n; i++) f[i] += 0.02 * rand();
          return f;
        })();
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[b] - score[a]);
  const mask = new Float32Array(n);
  const active = Math.round(density * n);
  for (let i = 0; i < active; i++) mask[order[i]] = 1;
  return mask;
}
