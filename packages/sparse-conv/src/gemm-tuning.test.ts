import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { convLayer, setWebGPUGemmTuning, sparseConv2d } from './index';
import { randomMask, refConv, refPostMask } from './reference.test-util';

type Shape4 = [number, number, number, number];

// The webgpu GEMM runs one of two ways by device: staged tiles (GPUs) or direct tiles (SwiftShader).
// Both run here whatever the device, on tiles of every kind: full, a short tail, a lone tile of few rows.
describe.each(TEST_BACKENDS)('the tiled GEMM on %s', (backend) => {
  afterEach(() => setWebGPUGemmTuning(undefined));

  it.each(['gpu', 'swiftshader'] as const)('as on %s: dense and listed convs equal the float64 reference', async (kind) => {
    await activate(backend);
    setWebGPUGemmTuning(kind);
    const tol = backend === 'webgpu' ? 1e-4 : 1e-5;
    const rand = seededRandom(71);
    const cases: { shape: Shape4; k: number; cout: number; density: number }[] = [
      { shape: [2, 9, 11, 8], k: 3, cout: 8, density: 1 }, // 198 rows: three full tiles and a tail of 6
      { shape: [1, 13, 11, 12], k: 3, cout: 68, density: 0.5 }, // about 70 listed rows, 68 channels: a partial column tile
      { shape: [1, 7, 9, 8], k: 1, cout: 4, density: 0.2 }, // a dozen listed rows: one short tile
    ];
    for (const { shape, k, cout, density } of cases) {
      const [b, h, w, cin] = shape;
      const x = Array.from({ length: b * h * w * cin }, () => rand(-1, 1));
      const filter = Array.from({ length: k * k * cin * cout }, () => rand(-0.5, 0.5));
      const xt = tf.tensor4d(x, shape);
      const ft = tf.tensor4d(filter, [k, k, cin, cout]);
      const want = refConv({ x, shape, filter, k, cout });
      const label = `${shape.join('x')}, k ${k}, density ${density}`;
      if (density === 1) {
        const y = convLayer(xt, ft);
        expect(relL2(await y.data(), want), label).toBeLessThan(tol);
        y.dispose();
      } else {
        const mask = randomMask(b * h * w, density, rand);
        const mt = tf.tensor4d(mask, [b, h, w, 1]);
        const y = await sparseConv2d(xt, mt, ft, { method: 'compact' });
        expect(relL2(await y.data(), refPostMask(want, cout, mask, false)), label).toBeLessThan(tol);
        tf.dispose([y, mt]);
      }
      tf.dispose([xt, ft]);
    }
  });
});
