import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { gateMask, setWebGPUTuning, sparseConvPair } from './index';
import { refConv, refGroupNorm, refPostMask } from './reference.test-util';

type Shape4 = [number, number, number, number];

// A depth node's two convs: conv1 (GN over its mask, ReLU) where maxpool(gate) > 0, conv2 (GN over
// its mask) where gate > 0, then ReLU(input + gate * y); and the 3x3 convs of that output to one
// channel. On wasm conv2's im2col reads conv1's rows; everywhere the numbers are the reference's.
describe.each(TEST_BACKENDS)('sparseConvPair on %s', (backend) => {
  afterEach(() => setWebGPUTuning(undefined));
  // oneMask: as the router passes them, one mask for both convs, conv1 taking its 3x3 max-pool
  // (dilateMask): the gate itself where masks stay on the device (webgpu), its 0/1 mask elsewhere
  it.each([
    { shape: [2, 9, 11, 8] as Shape4, groups: 2, density: 0.06, oneMask: false },
    { shape: [1, 6, 5, 8] as Shape4, groups: 4, density: 0, oneMask: false },
    { shape: [1, 6, 5, 8] as Shape4, groups: 4, density: 1, oneMask: false },
    { shape: [2, 9, 11, 8] as Shape4, groups: 2, density: 0.06, oneMask: true },
    { shape: [1, 6, 5, 8] as Shape4, groups: 4, density: 1, oneMask: true },
    // webgpu: conv2 reading conv1's rows as they are normalised, and reading the normalised map
    { shape: [2, 9, 11, 8] as Shape4, groups: 2, density: 0.3, oneMask: true, onRead: true },
    { shape: [2, 9, 11, 8] as Shape4, groups: 2, density: 0.3, oneMask: true, onRead: false },
  ])('equals two float64 reference convs, the gated residual and its gate convs: $shape, gate density $density, one mask $oneMask, GN on read $onRead (undefined: the device default)', async ({ shape, groups, density, oneMask, onRead }) => {
    await activate(backend);
    // (the GPU's tuning; cpu and wasm check the numbers of their own paths at this density)
    if (onRead !== undefined) setWebGPUTuning('gpu', { normalizeOnRead: onRead });
    const rand = seededRandom(71);
    const [b, h, w, c] = shape;
    const x = Array.from({ length: b * h * w * c }, () => rand(-1, 1));
    const input = Array.from({ length: b * h * w * c }, () => rand(-1, 1));
    const gate = Array.from({ length: b * h * w }, () => (rand() < density ? rand(0.05, 1) : 0));
    const filters = [0, 1].map(() => Array.from({ length: 9 * c * c }, () => rand(-0.3, 0.3)));
    const norms = [0, 1].map(() => ({ gamma: Array.from({ length: c }, () => rand(0.5, 1.5)), beta: Array.from({ length: c }, () => rand(-0.5, 0.5)) }));
    const gateFilters = [0, 1].map(() => Array.from({ length: 9 * c }, () => rand(-0.5, 0.5)));

    const [xt, inputT, gateT] = [tf.tensor4d(x, shape), tf.tensor4d(input, shape), tf.tensor4d(gate, [b, h, w, 1])];
    const around = gateMask(gateT, { dilate: true });
    const on = gateMask(gateT);
    const [m1, m2] = [await around.data(), await on.data()];
    const ft = filters.map((f) => tf.tensor4d(f, [3, 3, c, c]));
    const nt = norms.map((n) => ({ groups, gamma: tf.tensor1d(n.gamma), beta: tf.tensor1d(n.beta) }));
    const gft = gateFilters.map((f) => tf.tensor4d(f, [3, 3, c, 1]));
    const before = tf.memory().numTensors;
    const one = backend === 'webgpu' ? gateT : on;
    const run = () =>
      sparseConvPair(
        xt,
        { mask: oneMask ? one : around, filter: ft[0], opts: { norm: nt[0], post: 'relu', dilateMask: oneMask } },
        { mask: oneMask ? one : on, filter: ft[1], opts: { norm: nt[1], gatedResidual: { input: inputT, gate: gateT } } },
        gft,
      );
    const { output, convs } = await run();
    expect(tf.memory().numTensors).toBe(before + 3);
    if (backend === 'wasm' && density > 0 && density < 1 && onRead === undefined) {
      // sparse masks on wasm: conv2 reads conv1's rows, no map in between
      const info = await tf.profile(async () => {
        const r = await run();
        tf.dispose([r.output, ...r.convs]);
      });
      const kernels = info.kernels.map((k) => k.name);
      expect(kernels).toContain('DynheadSparseIm2ColFromRows');
      expect(kernels).not.toContain('DynheadScatterRows');
    }
    if (backend === 'webgpu' && oneMask) {
      // both pixel lists from one kernel
      const info = await tf.profile(async () => {
        const r = await run();
        tf.dispose([r.output, ...r.convs]);
      });
      expect(info.kernels.filter((k) => k.name === 'DynheadCompactList').length).toBe(1);
      if (onRead !== undefined) expect(info.kernels.filter((k) => k.name === 'DynheadCompactGroupNormAffine').length).toBe(onRead ? 1 : 0);
    }

    const t = refPostMask(refGroupNorm(refConv({ x, shape, filter: filters[0], k: 3, cout: c }), shape, groups, norms[0].gamma, norms[0].beta, m1), c, m1, true);
    const y = refPostMask(refGroupNorm(refConv({ x: t, shape, filter: filters[1], k: 3, cout: c }), shape, groups, norms[1].gamma, norms[1].beta, m2), c, m2, false);
    const want = y.map((v, i) => Math.max(0, input[i] + gate[Math.floor(i / c)] * v));
    const tol = backend === 'webgpu' ? 1e-4 : 1e-5;
    expect(relL2(await output.data(), want)).toBeLessThan(tol);
    for (const [j, f] of gateFilters.entries()) {
      expect(relL2(await convs[j].data(), refConv({ x: want, shape, filter: f, k: 3, cout: 1 })), `conv ${j}`).toBeLessThan(tol);
    }
    tf.dispose([output, ...convs, xt, inputT, gateT, around, on, ...ft, ...gft, ...nt.flatMap((n) => [n.gamma, n.beta])]);
  });
});
