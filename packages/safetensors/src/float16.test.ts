import { describe, expect, it } from 'vitest';
import { float16ToFloat32, float32ToFloat16 } from './float16';

const f32 = (v: number) => Math.fround(v);

describe('float16', () => {
  it("rounds as numpy's astype(float16) does", () => {
    // np.array(v, dtype=np.float32).astype(np.float16).view(np.uint16)
    const numpy: [number, number][] = [
      [0.1, 0x2e66],
      [1 / 3, 0x3555],
      [65519, 0x7bff],
      [65520, 0x7c00],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000],
      [1.5 * 2 ** -25, 0x0001],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
      [1e-5, 0x00a8],
      [-123.456, 0xd7b7],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [-0, 0x8000],
      [Number.POSITIVE_INFINITY, 0x7c00],
      [Number.NEGATIVE_INFINITY, 0xfc00],
      [1e30, 0x7c00],
    ];
    for (const [v, bits] of numpy) expect(float32ToFloat16(v).toString(16), String(v)).toBe(bits.toString(16));
    expect(float32ToFloat16(Number.NaN) & 0x7e00).toBe(0x7e00);
  });

  it('every half value round-trips, and each midpoint between neighbours rounds to the even one', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = float16ToFloat32(h);
      if (Number.isNaN(v)) continue;
      expect(float32ToFloat16(v)).toBe(h);
    }
    // positive finite halves in order: 0 .. 0x7bff; the midpoint of a and a+1 is exact in float32
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (float16ToFloat32(h) + float16ToFloat32(h + 1)) / 2;
      expect(f32(mid)).toBe(mid);
      const even = h % 2 === 0 ? h : h + 1;
      if (float32ToFloat16(mid) !== even || float32ToFloat16(-mid) !== (even | 0x8000)) throw new Error(`midpoint of 0x${h.toString(16)}: got 0x${float32ToFloat16(mid).toString(16)}`);
      // just off the midpoint: to the nearer neighbour
      const step = (float16ToFloat32(h + 1) - float16ToFloat32(h)) / 8;
      expect(float32ToFloat16(mid - step)).toBe(h);
      expect(float32ToFloat16(mid + step)).toBe(h + 1);
    }
  });
});
