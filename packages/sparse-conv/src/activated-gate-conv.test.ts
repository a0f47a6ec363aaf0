import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { type ConvActivation, activatedGateConv } from './index';
import { refConv } from './reference.test-util';

type Shape4 = [number, number, number, number];

// webgpu first, so that activatedGateConv is this process's first call into the package there: its
// kernel must register itself (each test file runs in a process of its own).
const BACKENDS = [...TEST_BACKENDS.filter((b) => b === 'webgpu'), ...TEST_BACKENDS.filter((b) => b !== 'webgpu')];

describe.each(BACKENDS)('activatedGateConv on %s', (backend) => {
  it('equals the float64 act(conv + bias), and its ops form where WGSL does not run', async () => {
    await activate(backend);
    const tol = backend === 'webgpu' ? 1e-4 : 1e-5;
    const rand = seededRandom(47);
    const shape: Shape4 = [2, 6, 7, 12];
    const x = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand(-1, 1));
    const filter = Array.from({ length: 9 * shape[3] }, () => rand(-0.5, 0.5));
    const [xt, ft, bt] = [tf.tensor4d(x, shape), tf.tensor4d(filter, [3, 3, shape[3], 1]), tf.tensor1d([0.1])];
    // a gate-like activation with exact zeros: 2 * max(v, 0) - a kink the two forms must place alike
    const activation: ConvActivation = {
      wgsl: 'fn gateActivation(v : f32) -> f32 {\n  return 2.0 * max(v, 0.0);\n}',
      ops: (conv, bias) => tf.mul(tf.relu(tf.add(conv, bias)), 2) as tf.Tensor4D,
    };
    const y = activatedGateConv(xt, ft, bt, activation);
    expect(y.shape).toEqual([2, 6, 7, 1]);
    const want = refConv({ x, shape, filter, k: 3, cout: 1 }).map((v) => 2 * Math.max(v + Math.fround(0.1), 0));
    const got = await y.data();
    expect(relL2(got, want)).toBeLessThan(tol);
    for (let i = 0; i < want.length; i++) if (want[i] === 0) expect(got[i], `pixel ${i}`).toBe(0);
    expect(() => activatedGateConv(xt, ft, tf.tensor1d([1, 2]), activation)).toThrow('activatedGateConv: bias must hold one value, got shape [2]');
    tf.dispose([y, xt, ft, bt]);
  });
});
