import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { depthwiseNormEach } from './index';
import { refConv, refGroupNorm } from './reference.test-util';

type Shape4 = [number, number, number, number];

// C=16 in 2 groups takes wasm's fused SIMD kernel, C=8 in 4 groups (2 channels each) the per-layer
// path; a map over 8 MiB (66x130x256) the SIMD kernel's recomputing form
describe.each(TEST_BACKENDS)('depthwiseNormEach on %s', (backend) => {
  it.each([
    { shape: [2, 5, 7, 16] as Shape4, groups: 2 },
    { shape: [1, 6, 4, 8] as Shape4, groups: 4 },
    { shape: [1, 66, 130, 256] as Shape4, groups: 32 },
  ])('equals gate * GN(dwconv3x3(x) + bias) per layer in float64 (two layers, one ungated): $shape', async ({ shape, groups }) => {
    await activate(backend);
    const rand = seededRandom(57);
    const [b, h, w, c] = shape;
    // an offset far from zero: the statistics must keep their digits
    const x = Array.from({ length: b * h * w * c }, () => Math.fround(20 + rand(-1, 1)));
    const layers = [0, 1].map(() => ({
      filter: Array.from({ length: 9 * c }, () => Math.fround(rand(-0.5, 0.5))),
      bias: Array.from({ length: c }, () => Math.fround(rand(-0.3, 0.3))),
      gamma: Array.from({ length: c }, () => Math.fround(rand(0.5, 1.5))),
      beta: Array.from({ length: c }, () => Math.fround(rand(-0.5, 0.5))),
      gate: Array.from({ length: b * h * w }, () => (rand() < 0.4 ? 0 : Math.fround(rand(0, 1)))),
    }));
    const xt = tf.tensor4d(x, shape);
    const tensors = layers.map((l, j) => ({
      filter: tf.tensor4d(l.filter, [3, 3, c, 1]),
      bias: tf.tensor1d(l.bias),
      norm: { groups, gamma: tf.tensor1d(l.gamma), beta: tf.tensor1d(l.beta) },
      gate: j === 0 ? tf.tensor4d(l.gate, [b, h, w, 1]) : undefined,
    }));
    const before = tf.memory().numTensors;
    const ys = depthwiseNormEach(xt, tensors);
    expect(tf.memory().numTensors).toBe(before + 2);
    for (const [j, l] of layers.entries()) {
      const conv = refConv({ x, shape, filter: l.filter, k: 3, cout: c, depthwise: true, bias: l.bias });
      const normed = refGroupNorm(conv, shape, groups, l.gamma, l.beta);
      const want = j === 0 ? normed.map((v, i) => v * l.gate[Math.floor(i / c)]) : normed;
      expect(ys[j].shape).toEqual(shape);
      expect(relL2(await ys[j].data(), want), `layer ${j}`).toBeLessThan(backend === 'webgpu' ? 1e-4 : 1e-5);
    }
    tf.dispose([xt, ...ys, ...tensors.flatMap((t) => [t.filter, t.bias, t.norm.gamma, t.norm.beta, ...(t.gate ? [t.gate] : [])])]);
  });
});
