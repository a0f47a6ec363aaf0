import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../../test/backends';
import {
  type DetectionSample,
  flipBoxes,
  writeImage,
  hflip,
  normalizePixels,
  padToMultiple,
  pixelLayouts,
  resizeShortestEdge,
  scaleBoxes,
  shortestEdgeSize,
} from '../index';
import { bilinearResize, flipHwc, normalizeHwc } from '../test-support/reference';

describe('box and size arithmetic (hand-computed)', () => {
  it('shortestEdgeSize follows detectron2: shortest edge, capped longest edge, rounded half up', () => {
    expect(shortestEdgeSize(480, 640, 800, 1333)).toEqual([800, 1067]); // 1066.67
    expect(shortestEdgeSize(640, 480, 800, 1333)).toEqual([1067, 800]);
    expect(shortestEdgeSize(500, 500, 800, 1333)).toEqual([800, 800]);
    expect(shortestEdgeSize(481, 640, 800, 1333)).toEqual([800, 1064]); // 1064.45
    expect(shortestEdgeSize(100, 1000, 800, 1333)).toEqual([133, 1333]); // capped: 800 * 1333 / 8000 = 133.29
    expect(shortestEdgeSize(480, 640, 600, 1000)).toEqual([600, 800]);
    expect(() => shortestEdgeSize(0, 640, 800, 1333)).toThrow(/must be positive, got 0x640/);
  });

  it('scaleBoxes and flipBoxes', () => {
    const b = Float32Array.from([10, 20, 30, 60, 0, 0, 64, 48]);
    expect(Array.from(scaleBoxes(b, 2, 0.5))).toEqual([20, 10, 60, 30, 0, 0, 128, 24]);
    expect(Array.from(flipBoxes(b, 64))).toEqual([34, 20, 54, 60, 0, 0, 64, 48]);
    // Flipping twice is the identity.
    expect(Array.from(flipBoxes(flipBoxes(b, 100), 100))).toEqual(Array.from(b));
  });
});

describe("writeImage (the loader's fused pass)", () => {
  it('equals float64 resize -> flip -> normalise into a padded row layout, up- and down-scaling', () => {
    const rand = seededRandom(11);
    const [h, w] = [7, 10];
    const data = Uint8Array.from({ length: h * w * 3 }, () => Math.floor(rand(0, 256)));
    for (const [nh, nw] of [
      [11, 16],
      [4, 5],
    ]) {
      for (const flip of [false, true]) {
        for (const layout of ['msra', 'torchvision'] as const) {
          const W = 20;
          const dst = new Float32Array(2 * 12 * W * 3).fill(Number.NaN);
          const offset = 12 * W * 3; // second image of a batch
          writeImage({ data, width: w, height: h }, { size: [nh, nw], flip, pixels: layout }, dst, offset, W * 3);
          const p = pixelLayouts[layout];
          let ref = bilinearResize(data, h, w, 3, nh, nw);
          if (flip) ref = flipHwc(ref, nh, nw, 3);
          ref = normalizeHwc(ref, nh * nw, p.channelOrder === 'bgr', p.mean, p.std);
          const got: number[] = [];
          for (let y = 0; y < nh; y++) for (let x = 0; x < nw * 3; x++) got.push(dst[offset + y * W * 3 + x]);
          expect(relL2(got, ref)).toBeLessThan(1e-6);
          expect(Number.isNaN(dst[offset + nw * 3])).toBe(true); // padding untouched
          expect(Number.isNaN(dst[0])).toBe(true);
        }
      }
    }
    expect(() => writeImage({ data, width: w, height: h }, { size: [4, 30], flip: false, pixels: 'msra' }, new Float32Array(1000), 0, 60)).toThrow(
      /width 30 does not fit rows of 20 pixels/,
    );
  });
});

describe.each(TEST_BACKENDS)('image transforms on %s', (backend) => {
  const H = 6;
  const W = 8;
  const rand = seededRandom(3);
  const pixels = Float32Array.from({ length: H * W * 3 }, () => Math.round(rand(0, 255)));
  const sample = (): DetectionSample => ({
    imageId: 1,
    image: tf.tensor3d(pixels, [H, W, 3]),
    boxes: Float32Array.from([1, 2, 5, 6]),
    labels: Int32Array.from([0]),
    originalSize: [H, W],
    scale: [1, 1],
    flipped: false,
  });

  it('resizeShortestEdge equals float64 bilinear (half-pixel centres) and scales boxes', async () => {
    await activate(backend);
    const s = sample();
    const r = resizeShortestEdge(s, { shortEdge: 9, maxSize: 100 }); // 6x8 -> 9x12
    expect(r.image.shape).toEqual([9, 12, 3]);
    expect(relL2(await r.image.data(), bilinearResize(pixels, H, W, 3, 9, 12))).toBeLessThan(1e-6);
    expect(Array.from(r.boxes)).toEqual([1.5, 3, 7.5, 9]);
    expect(r.scale).toEqual([1.5, 1.5]);
    tf.dispose([s.image, r.image]);
  });

  it('hflip mirrors pixels and boxes', async () => {
    await activate(backend);
    const s = sample();
    const f = hflip(s);
    expect(Array.from(await f.image.data())).toEqual(Array.from(flipHwc(pixels, H, W, 3)));
    expect(Array.from(f.boxes)).toEqual([3, 2, 7, 6]);
    expect(f.flipped).toBe(true);
    tf.dispose([s.image, f.image]);
  });

  it('normalizePixels: msra is BGR minus mean, torchvision is RGB (x - mean) / std', async () => {
    await activate(backend);
    const x = tf.tensor3d(pixels, [H, W, 3]);
    for (const layout of ['msra', 'torchvision', 'none'] as const) {
      const p = pixelLayouts[layout];
      const y = normalizePixels(x, layout);
      const ref = normalizeHwc(pixels, H * W, p.channelOrder === 'bgr', p.mean, p.std);
      expect(relL2(await y.data(), ref)).toBeLessThan(1e-6);
      y.dispose();
    }
    expect(() => normalizePixels(x, 'caffe' as never)).toThrow(/unknown pixel layout "caffe"/);
    x.dispose();
  });

  it('padToMultiple stacks, zero-pads bottom-right to a multiple and keeps true sizes', async () => {
    await activate(backend);
    const a = tf.fill([5, 7, 3], 1) as tf.Tensor3D;
    const b = tf.fill([9, 3, 3], 2) as tf.Tensor3D;
    const { images, sizes } = padToMultiple([a, b], 4);
    expect(images.shape).toEqual([2, 12, 8, 3]);
    expect(sizes).toEqual([
      [5, 7],
      [9, 3],
    ]);
    const v = await images.data();
    const at = (n: number, y: number, x: number) => v[((n * 12 + y) * 8 + x) * 3];
    expect([at(0, 4, 6), at(0, 5, 6), at(0, 4, 7), at(1, 8, 2), at(1, 8, 3), at(1, 9, 0)]).toEqual([1, 0, 0, 2, 0, 0]);
    let sum = 0;
    for (const e of v) sum += e;
    expect(sum).toBe(5 * 7 * 3 * 1 + 9 * 3 * 3 * 2);
    expect(() => padToMultiple([a, tf.zeros([2, 2, 1]) as tf.Tensor3D])).toThrow(/image 1 has shape \[2,2,1\], expected \[H, W, 3\]/);
    tf.dispose([a, b, images]);
  });
});
