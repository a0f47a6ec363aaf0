import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { packPyramid, pyramidLayoutOf, setWebGPUTuning, sparseConvPairPyramid, unpackPyramid } from './index';
import { refConv, refGroupNorm, refMaxPool3x3, refPostMask } from './reference.test-util';

type Shape4 = [number, number, number, number];

// Four levels of two images: 280 rows, so that on webgpu tiles of 64 listed rows span levels and a
// 3x3 tap at a level's edge would reach into the next level if the layout were not kept.
const SIZES: [number, number][] = [
  [9, 11],
  [5, 6],
  [3, 3],
  [1, 2],
];

describe.each(TEST_BACKENDS)('sparseConvPairPyramid on %s', (backend) => {
  afterEach(() => setWebGPUTuning(undefined));

  // onRead: conv2 applies conv1's GroupNorm as it stages its input (DeviceTuning.normalizeOnRead)
  it.each([
    { density: 0.3, tuning: 'gpu' as const, rows: 280, onRead: true },
    { density: 0.3, tuning: 'gpu' as const, rows: 280, onRead: false },
    { density: 0.3, tuning: 'swiftshader' as const, rows: 280, onRead: true },
    { density: 0.3, tuning: 'swiftshader' as const, rows: 280, onRead: false },
    { density: 1, tuning: 'gpu' as const, rows: 280 },
    { density: 0, tuning: 'swiftshader' as const, rows: 280 },
    // 37500 pixels: past one pass's pixel list (32768), so a count pass, then both lists
    { density: 0.3, tuning: 'swiftshader' as const, rows: 37500, sizes: [[150, 200], [75, 100]] as [number, number][], batch: 1, channels: 4 },
    // 1500 pixels: six blocks of the list, past a GPU's one-pass bound (4), so a count pass as well
    { density: 0.3, tuning: 'gpu' as const, rows: 1500, sizes: [[30, 40], [15, 20]] as [number, number][], batch: 1, channels: 4 },
  ])('equals each level\'s float64 depth node (two convs, GN per level and image, the gated residual): gate density $density, tuned as on $tuning, $rows rows, GN on read $onRead', async ({ density, tuning, sizes = SIZES, batch = 2, channels = 8, onRead = true }) => {
    await activate(backend);
    setWebGPUTuning(tuning, { normalizeOnRead: onRead });
    const rand = seededRandom(83);
    const [b, c, groups] = [batch, channels, 2];
    const levels = sizes.map(([h, w]) => {
      const shape: Shape4 = [b, h, w, c];
      const x = Array.from({ length: b * h * w * c }, () => rand(-1, 1));
      const input = Array.from({ length: b * h * w * c }, () => rand(-1, 1));
      const gate = Array.from({ length: b * h * w }, () => (rand() < density ? rand(0.05, 1) : 0));
      return { shape, x, input, gate };
    });
    const filters = [0, 1].map(() => Array.from({ length: 9 * c * c }, () => rand(-0.3, 0.3)));
    const norms = [0, 1].map(() => ({ gamma: Array.from({ length: c }, () => rand(0.5, 1.5)), beta: Array.from({ length: c }, () => rand(-0.5, 0.5)) }));

    const maps = (key: 'x' | 'input' | 'gate') => levels.map((l) => tf.tensor4d(l[key], key === 'gate' ? [b, l.shape[1], l.shape[2], 1] : l.shape));
    const [xs, inputs, gates] = [maps('x'), maps('input'), maps('gate')];
    const layout = pyramidLayoutOf(xs);
    const [x, input, gate] = [packPyramid(xs), packPyramid(inputs), packPyramid(gates)];
    const ft = filters.map((f) => tf.tensor4d(f, [3, 3, c, c]));
    const nt = norms.map((n) => ({ groups, gamma: tf.tensor1d(n.gamma), beta: tf.tensor1d(n.beta) }));
    // as the router passes them where masks stay on the device: the gate is both masks, conv1
    // taking its 3x3 max-pool; elsewhere its 0/1 masks
    const onDevice = backend === 'webgpu';
    const on = onDevice ? gate : (tf.step(gate, 0) as tf.Tensor2D);
    const around = onDevice ? gate : packPyramid(gates.map((g) => tf.step(tf.maxPool(g, 3, 1, 'same'), 0) as tf.Tensor4D));
    const before = tf.memory().numTensors;
    const run = () =>
      sparseConvPairPyramid(
        x,
        layout,
        { mask: around, filter: ft[0], opts: { norm: nt[0], post: 'relu', dilateMask: onDevice } },
        { mask: on, filter: ft[1], opts: { norm: nt[1], gatedResidual: { input, gate } } },
      );
    const output = await run();
    expect(tf.memory().numTensors).toBe(before + 1);
    if (onDevice) {
      // every level in one buffer of both lists, two GEMMs and two GroupNorms (on read: conv1's
      // statistics alone, applied by conv2)
      const info = await tf.profile(async () => (await run()).dispose());
      const count = (name: string) => info.kernels.filter((k) => k.name === name).length;
      const norms = [count('DynheadCompactGroupNorm'), count('DynheadCompactGroupNormAffine')];
      expect([count('DynheadCompactList'), count('DynheadCompactConv'), ...norms]).toEqual([1, 2, ...(onRead ? [1, 1] : [2, 0])]);
    }

    const got = unpackPyramid(output, layout);
    for (const [l, { shape, x: xl, input: il, gate: gl }] of levels.entries()) {
      const [, h, w] = shape;
      const m2 = gl.map((g) => (g > 0 ? 1 : 0));
      const m1 = refMaxPool3x3(m2, b, h, w);
      const t = refPostMask(refGroupNorm(refConv({ x: xl, shape, filter: filters[0], k: 3, cout: c }), shape, groups, norms[0].gamma, norms[0].beta, m1), c, m1, true);
      const y = refPostMask(refGroupNorm(refConv({ x: t, shape, filter: filters[1], k: 3, cout: c }), shape, groups, norms[1].gamma, norms[1].beta, m2), c, m2, false);
      const want = y.map((v, i) => Math.max(0, il[i] + gl[Math.floor(i / c)] * v));
      expect(relL2(await got[l].data(), want), `level ${l} (${h}x${w})`).toBeLessThan(backend === 'webgpu' ? 1e-4 : 1e-5);
    }
    tf.dispose([output, ...got, x, input, gate, ...xs, ...inputs, ...gates, ...ft, ...nt.flatMap((n) => [n.gamma, n.beta])]);
    if (!onDevice) tf.dispose([on, around]);
  });
});
