import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, seededRandom } from '../../../test/backends';
import { gateBiasInit, geReTanH, parseGateKind, reTanH, sigmoidGate, softmaxGate } from './index';

// float64 references of paper Eq. 3 and its derivative.
const ref = (v: number, tau: number) => Math.max(0, (Math.tanh(v - tau) + Math.tanh(tau)) / (1 + Math.tanh(tau)));
const dref = (v: number, tau: number) => (v > 0 ? (1 - Math.tanh(v - tau) ** 2) / (1 + Math.tanh(tau)) : 0);

function inputs(): number[] {
  const rand = seededRandom(7);
  const xs = [0, -0, 1e-7, -1e-7, 1e-3, -1e-3, 40, -40, 1e4, -1e4, 1.5, 3];
  for (let i = 0; i < 500; i++) xs.push(rand(-6, 6));
  return xs;
}

describe.each(TEST_BACKENDS)('gate activations on %s', (backend) => {
  it('geReTanH equals the float64 formula, with exact zeros for x <= 0', async () => {
    await activate(backend);
    const xs = inputs();
    for (const tau of [0, 0.5, 1.5]) {
      const y = geReTanH(tf.tensor1d(xs), tau);
      const got = await y.data();
      xs.forEach((x, i) => {
        if (x <= 0) expect(got[i]).toBe(0);
        expect(Math.abs(got[i] - ref(x, tau))).toBeLessThan(2e-6);
      });
      y.dispose();
    }
    // with no gradient recorded, webgpu runs it as one kernel (one dispatch), the others as 7 ops
    const x = tf.tensor1d(xs);
    const prof = await tf.profile(() => geReTanH(x, 1.5));
    expect(prof.kernels.length).toBe(backend === 'webgpu' ? 1 : 7);
    // a bias (a gate conv's) added first: the same one kernel on webgpu
    const bias = tf.tensor1d([-0.75]);
    const withBias = await tf.profile(() => geReTanH(x, 1.5, bias));
    expect(withBias.kernels.length).toBe(backend === 'webgpu' ? 1 : 8);
    const got = await (withBias.result as tf.Tensor).data();
    xs.forEach((v, i) => {
      const input = Math.fround(v - 0.75);
      if (input <= 0) expect(got[i]).toBe(0);
      expect(Math.abs(got[i] - ref(input, 1.5))).toBeLessThan(2e-6);
    });
    expect(() => geReTanH(x, 1.5, tf.tensor1d([1, 2]))).toThrow('geReTanH: bias must hold one value, got shape [2]');
    tf.dispose([x, bias, prof.result as tf.Tensor, withBias.result as tf.Tensor]);
  });

  it('geReTanH gradient equals finite differences of the float64 formula', async () => {
    await activate(backend);
    const xs = inputs().filter((x) => Math.abs(x) > 1e-3 && Math.abs(x) < 100);
    for (const tau of [0, 1.5]) {
      const g = tf.grad((x: tf.Tensor) => tf.sum(geReTanH(x, tau)))(tf.tensor1d(xs));
      const got = await g.data();
      const h = 1e-6;
      xs.forEach((x, i) => {
        const fd = (ref(x + h, tau) - ref(x - h, tau)) / (2 * h);
        expect(Math.abs(got[i] - fd)).toBeLessThan(1e-5);
        expect(Math.abs(got[i] - dref(x, tau))).toBeLessThan(1e-5);
      });
      g.dispose();
    }
  });

  it('reTanH is max(0, tanh x) and its gradient is zero for x <= 0', async () => {
    await activate(backend);
    const xs = [-3, -0.5, 0, 0.25, 1, 8];
    const x = tf.tensor1d(xs);
    const y = await reTanH(x).data();
    const g = await tf.grad((v: tf.Tensor) => tf.sum(reTanH(v)))(x).data();
    xs.forEach((v, i) => {
      expect(Math.abs(y[i] - Math.max(0, Math.tanh(v)))).toBeLessThan(2e-6);
      expect(Math.abs(g[i] - (v > 0 ? 1 - Math.tanh(v) ** 2 : 0))).toBeLessThan(2e-6);
    });
  });

  it('sigmoid and softmax gates equal their formulas, softmax over any axis', async () => {
    await activate(backend);
    const s = await sigmoidGate(tf.tensor1d([-2, 0, 3])).data();
    for (const [i, v] of [-2, 0, 3].entries()) expect(Math.abs(s[i] - 1 / (1 + Math.exp(-v)))).toBeLessThan(2e-6);
    const logits = [
      [1, 2, 3],
      [0, 0, -1],
    ];
    const sm = await softmaxGate(tf.tensor2d(logits), 0).data();
    for (let c = 0; c < 3; c++) {
      const z = Math.exp(logits[0][c]) + Math.exp(logits[1][c]);
      expect(Math.abs(sm[c] - Math.exp(logits[0][c]) / z)).toBeLessThan(2e-6);
      expect(Math.abs(sm[3 + c] - Math.exp(logits[1][c]) / z)).toBeLessThan(2e-6);
    }
  });

  it('does not leak tensors', async () => {
    await activate(backend);
    const x = tf.tensor1d([-1, 0.5, 2]);
    const run = () => tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(geReTanH(v, 1.5)))(x));
    run().dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) run().dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe.each(TEST_BACKENDS.filter((b) => b === 'webgpu'))('geReTanH in training on %s', (backend) => {
  it('runs one kernel forward and one back, equal bit for bit to the ops they replace, bias included', async () => {
    await activate(backend);
    const xs = inputs();
    const x = tf.tensor1d(xs);
    const bias = tf.tensor1d([-0.75]);
    const r = tf.tensor1d(xs.map((_, i) => ((i * 37) % 11) - 5));
    // the map, and the gradients in x and bias of sum(r * geReTanH(x + bias)), with the tape on
    const run = async () => {
      let y = undefined as unknown as tf.Tensor;
      const [dx, dBias] = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
        y = tf.keep(geReTanH(a, 1.5, b));
        return tf.sum(tf.mul(y, r));
      })([x, bias]);
      const out = [await y.data(), await dx.data(), await dBias.data()].map((d) => Array.from(d));
      tf.dispose([y, dx, dBias]);
      return out;
    };
    const info = await tf.profile(() => tf.grad((a: tf.Tensor) => tf.sum(geReTanH(a, 1.5)))(x));
    expect(info.kernels.map((k) => k.name).filter((n) => n.startsWith('DynheadGeReTanH'))).toEqual(['DynheadGeReTanH', 'DynheadGeReTanHGrad']);
    expect(info.kernels.map((k) => k.name)).not.toContain('Tanh');
    (info.result as tf.Tensor).dispose();
    const withKernels = await run();
    const kernels = ['DynheadGeReTanH', 'DynheadGeReTanHGrad'].map((n) => tf.getKernel(n, backend) as tf.KernelConfig);
    for (const k of kernels) tf.unregisterKernel(k.kernelName, backend);
    try {
      expect(withKernels).toEqual(await run());
    } finally {
      for (const k of kernels) tf.registerKernel(k);
    }
    tf.dispose([x, bias, r]);
  });
});

describe('gateBiasInit', () => {
  it('matches SPEC section 2 and starts every gate at initGate', () => {
    expect(gateBiasInit('geReTanH', { tau: 1.5 })).toBeCloseTo(0.5 * Math.log((1 + 0.99 * Math.exp(3)) / 0.01), 12);
    expect(gateBiasInit('reTanH')).toBeCloseTo(0.5 * Math.log(1.99 / 0.01), 12);
    for (const tau of [0, 0.7, 1.5, 3]) expect(ref(gateBiasInit('geReTanH', { tau }), tau)).toBeCloseTo(0.99, 12);
    expect(1 / (1 + Math.exp(-gateBiasInit('sigmoid', { initGate: 0.9 })))).toBeCloseTo(0.9, 12);
    expect(gateBiasInit('softmax')).toBe(0);
  });

  it('rejects initGate outside (0, 1) and unknown kinds by name', () => {
    expect(() => gateBiasInit('geReTanH', { initGate: 1 })).toThrow(/initGate/);
    expect(parseGateKind('GeReTanH')).toBe('geReTanH');
    expect(() => parseGateKind('relu')).toThrow(/unknown gate activation 'relu'/);
  });
});
