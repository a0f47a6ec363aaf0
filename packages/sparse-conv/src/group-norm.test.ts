import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { groupNormDense } from './group-norm';
import { setWebGPUTuning } from './index';
import { refGroupNorm } from './reference.test-util';

type Shape4 = [number, number, number, number];

/** L = sum(r * GN(x)) in float64, and its central differences in x, gamma and beta. */
function referenceGradients(x: number[], shape: Shape4, groups: number, gamma: number[], beta: number[], r: number[]) {
  const loss = (xs: number[], gs: number[], bs: number[]) => refGroupNorm(Float64Array.from(xs), shape, groups, gs, bs).reduce((s, v, i) => s + v * r[i], 0);
  const step = 1e-6;
  const central = (values: number[], at: (v: number[]) => number) =>
    values.map((v, i) => {
      const up = values.slice();
      const down = values.slice();
      up[i] = v + step;
      down[i] = v - step;
      return (at(up) - at(down)) / (2 * step);
    });
  return {
    dx: central(x, (v) => loss(v, gamma, beta)),
    dGamma: central(gamma, (v) => loss(x, v, beta)),
    dBeta: central(beta, (v) => loss(x, gamma, v)),
  };
}

describe.each(TEST_BACKENDS)('groupNormDense on %s', (backend) => {
  const tol = 1e-5;
  afterEach(() => setWebGPUTuning(undefined));

  it.each([
    { shape: [2, 3, 5, 8] as Shape4, groups: 4 },
    { shape: [1, 4, 4, 6] as Shape4, groups: 1 },
    { shape: [3, 2, 3, 12] as Shape4, groups: 12 },
    // more pixels than a statistics workgroup has threads on a GPU (64), so each thread adds several
    { shape: [2, 9, 11, 8] as Shape4, groups: 2, tuning: 'gpu' as const },
    { shape: [2, 9, 11, 8] as Shape4, groups: 2, tuning: 'swiftshader' as const },
  ])('its value and its gradients in x, gamma and beta equal the float64 reference: $shape, $groups groups', async ({ shape, groups, tuning }) => {
    await activate(backend);
    // webgpu: the statistics' workgroups as a GPU or as SwiftShader takes them, whatever the device
    setWebGPUTuning(tuning);
    const rand = seededRandom(7);
    const n = shape.reduce((p, d) => p * d, 1);
    const c = shape[3];
    // an offset and scale per channel, so that the statistics are not those of a unit normal
    const x = Array.from({ length: n }, (_, i) => rand(-1, 1) * (1 + (i % c)) + 0.3 * (i % c));
    const gamma = Array.from({ length: c }, () => rand(0.5, 1.5));
    const beta = Array.from({ length: c }, () => rand(-0.5, 0.5));
    const r = Array.from({ length: n }, () => rand(-1, 1));
    const want = referenceGradients(x, shape, groups, gamma, beta, r);
    const [xt, gt, bt, rt] = [tf.tensor4d(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta), tf.tensor4d(r, shape)];
    const before = tf.memory().numTensors;
    const y = groupNormDense(xt, { groups, gamma: gt, beta: bt });
    expect(relL2(await y.data(), refGroupNorm(Float64Array.from(x), shape, groups, gamma, beta))).toBeLessThan(tol);
    const [dx, dGamma, dBeta] = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(groupNormDense(a as tf.Tensor4D, { groups, gamma: g as tf.Tensor1D, beta: b as tf.Tensor1D }), rt)),
    )([xt, gt, bt]);
    expect(dx.shape).toEqual(shape);
    expect(relL2(await dx.data(), want.dx), 'dx').toBeLessThan(tol);
    expect(relL2(await dGamma.data(), want.dGamma), 'dgamma').toBeLessThan(tol);
    expect(relL2(await dBeta.data(), want.dBeta), 'dbeta').toBeLessThan(tol);
    tf.dispose([y, dx, dGamma, dBeta]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xt, gt, bt, rt]);
  });

  it('runs one kernel forward and one backward', async () => {
    await activate(backend);
    const [x, gamma, beta] = [tf.randomNormal([2, 4, 4, 8]) as tf.Tensor4D, tf.ones([8]) as tf.Tensor1D, tf.zeros([8]) as tf.Tensor1D];
    const info = await tf.profile(() => {
      const [dx, dGamma] = tf.grads((a: tf.Tensor, g: tf.Tensor) => tf.sum(groupNormDense(a as tf.Tensor4D, { groups: 2, gamma: g as tf.Tensor1D, beta })))([x, gamma]);
      tf.dispose([dx, dGamma]);
    });
    const names = info.kernels.map((k) => k.name);
    expect(names.filter((n) => n.startsWith('Dynhead'))).toEqual(['DynheadGroupNormTrain', 'DynheadGroupNormTrainGrad']);
    expect(names).not.toContain('Mean');
    tf.dispose([x, gamma, beta]);
  });
});

describe.each(TEST_BACKENDS.filter((b) => b !== 'webgpu'))('groupNormDense on %s', (backend) => {
  // A GroupNorm feeds a ReLU: a last-bit change flips the derivative of inputs within rounding of 0
  // and moved the golden files' gradients (router README), so the kernel keeps tfjs's rounding.
  it.each([
    { shape: [2, 24, 32, 32] as Shape4, groups: 8 },
    { shape: [1, 5, 7, 6] as Shape4, groups: 3 },
  ])('its value equals, bit for bit, the tfjs ops it replaces: $shape', async ({ shape, groups }) => {
    await activate(backend);
    const x = tf.randomNormal(shape, 0.3, 2, 'float32', 5) as tf.Tensor4D;
    const gamma = tf.randomUniform([shape[3]], 0.5, 1.5, 'float32', 6) as tf.Tensor1D;
    const beta = tf.randomUniform([shape[3]], -1, 1, 'float32', 7) as tf.Tensor1D;
    const want = tf.tidy(() => {
      const [b, h, w, c] = shape;
      const grouped = tf.reshape(x, [b, h, w, groups, c / groups]);
      const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
      return tf.add(tf.mul(tf.reshape(tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, 1e-5))), shape), gamma), beta);
    });
    const got = groupNormDense(x, { groups, gamma, beta });
    expect(Array.from(await got.data())).toEqual(Array.from(await want.data()));
    tf.dispose([x, gamma, beta, want, got]);
  });
});

describe('groupNormDense input checks', () => {
  it('names the shape and groups when channels do not split into groups', async () => {
    await activate('cpu');
    const x = tf.zeros([1, 2, 2, 6]) as tf.Tensor4D;
    const norm = { groups: 4, gamma: tf.ones([6]) as tf.Tensor1D, beta: tf.zeros([6]) as tf.Tensor1D };
    expect(() => groupNormDense(x, norm)).toThrow('groupNormDense: x [1,2,2,6] must be NHWC with channels a multiple of groups (4)');
    tf.dispose([x, norm.gamma, norm.beta]);
  });
});
