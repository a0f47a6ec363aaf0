import { describe, expect, it } from 'vitest';
import { benchMask } from './sparse-conv-masks';

/** 4-connected components of the ones in an h x w 0/1 mask. */
function components(m: Float32Array, h: number, w: number): number {
  const seen = new Uint8Array(m.length);
  let count = 0;
  for (let s = 0; s < m.length; s++) {
    if (m[s] !== 1 || seen[s]) continue;
    count++;
    const stack = [s];
    seen[s] = 1;
    while (stack.length) {
      const i = stack.pop() as number;
      const y = Math.floor(i / w);
      const x = i % w;
      for (const [dy, dx] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
        const yy = y + dy;
        const xx = x + dx;
        const j = yy * w + xx;
        if (yy >= 0 && yy < h && xx >= 0 && xx < w && m[j] === 1 && !seen[j]) {
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
  }
  return count;
}

describe('sparse-conv bench masks', () => {
  it('hold exactly round(density * pixels) ones, for both patterns', () => {
    for (const pattern of ['blob', 'random'] as const) {
      for (const d of [0, 0.05, 0.1, 0.25, 0.5, 0.75, 1]) {
        const m = benchMask(25, 42, d, pattern, 3);
        expect(m.reduce((a, v) => a + v, 0)).toBe(Math.round(d * 25 * 42));
        expect(m.every((v) => v === 0 || v === 1)).toBe(true);
      }
    }
  });

  it('blob masks form a few connected regions where random ones scatter', () => {
    const h = 100;
    const w = 167;
    const blob = components(benchMask(h, w, 0.25, 'blob', 1), h, w);
    const random = components(benchMask(h, w, 0.25, 'random', 1), h, w);
    expect(blob).toBeLessThan(40);
    expect(random).toBeGreaterThan(1000);
  });

  it('rejects a density outside [0, 1]', () => {
    expect(() => benchMask(4, 4, 1.5, 'blob', 1)).toThrow(/density must be in \[0, 1\], got 1.5/);
  });
});
