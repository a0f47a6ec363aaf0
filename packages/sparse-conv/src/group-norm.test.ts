import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { groupNormDense } from './group-norm';
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
  const tol = backend === 'webgpu' ? 1e-4 : 1e-5;

  it.each([
    { shape: [2, 3, 5, 8] as Shape4, groups: 4 },
    { shape: [1, 4, 4, 6] as Shape4, groups: 1 },
    { shape: [3, 2, 3, 12] as Shape4, groups: 12 },
  ])('its value and its gradients in x, gamma and beta equal the float64 reference: $shape, $groups groups', async ({ shape, groups }) => {
    await activate(backend);
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
});
