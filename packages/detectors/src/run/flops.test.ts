import { describe, expect, it } from 'vitest';
import { fcosD2, fcosDynamicD8Mid, fcosFixD4 } from '../config';
import { headFlops } from './flops-command';

describe('head GFLOPs (SPEC cost units)', () => {
  it('equals the hand count at 800x1333 and lands next to the official table', () => {
    // 800x1333 -> padded 800x1344: P3..P7 100x168, 50x84, 25x42, 13x21, 7x11 = 22400 pixels.
    const d2 = headFlops(fcosD2);
    expect(d2.pixelsPerLevel).toEqual([16800, 4200, 1050, 273, 77]);
    // conventional: 2 towers x 4 convs x (256*256*9 + 256).
    expect(d2.perPixel).toBe(2 * 4 * (256 * 256 * 9 + 256));
    expect(d2.fullGflops).toBeCloseTo((22400 * 4720640) / 2 ** 30, 9);
    // Fix D4: 2 towers x 4 blocks x (2 depthwise (256*9+256) + 2 convs (256*256*9+256)).
    expect(headFlops(fcosFixD4).perPixel).toBe(2 * 4 * (2 * 2560 + 2 * 590080));
    // Official (COCO average image size): D2 98.0, Fix D4 198.6; the dynamic D8 head's full cost is Fix D8's 397.2.
    expect(Math.abs(d2.fullGflops - 98.0) / 98.0).toBeLessThan(0.01);
    expect(Math.abs(headFlops(fcosFixD4).fullGflops - 198.6) / 198.6).toBeLessThan(0.01);
    expect(Math.abs(headFlops(fcosDynamicD8Mid).fullGflops - 397.2) / 397.2).toBeLessThan(0.01);
  });
});
