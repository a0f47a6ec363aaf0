import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../../test/backends';
import { MomentumSgd } from './sgd';

/**
 * torch.optim.SGD(momentum, weight_decay, dampening 0) after torch.nn.utils.clip_grad_norm_, in
 * float64: g = grad * scale + wd * p; buf = g on the first step, else momentum * buf + g;
 * p -= lr * buf. Returns every step's global gradient norm.
 */
function torchSgd(params: number[][], gradsByStep: number[][][], lrs: number[], o: { momentum: number; weightDecay: number[]; clipNorm: number }): number[] {
  const bufs: (number[] | null)[] = params.map(() => null);
  return gradsByStep.map((grads, step) => {
    const norm = Math.sqrt(grads.flat().reduce((s, v) => s + v * v, 0));
    const scale = o.clipNorm > 0 && norm > o.clipNorm ? o.clipNorm / (norm + 1e-6) : 1;
    params.forEach((p, k) => {
      const g = grads[k].map((v, i) => v * scale + o.weightDecay[k] * p[i]);
      const prev = bufs[k];
      const buf = prev ? prev.map((b, i) => o.momentum * b + g[i]) : g;
      bufs[k] = buf;
      for (let i = 0; i < p.length; i++) p[i] -= lrs[step] * buf[i];
    });
    return norm;
  });
}

describe.each(TEST_BACKENDS)('MomentumSgd on %s', (backend) => {
  const shapes = [[3, 3, 4, 5], [5]];
  const make = () => {
    const rand = seededRandom(11);
    const p0 = shapes.map((s) => Array.from({ length: s.reduce((a, d) => a * d, 1) }, () => rand(-1, 1)));
    // the second step's gradients are large, so clipping acts there only
    const grads = [0.05, 3, 0.2].map((size) => shapes.map((s) => Array.from({ length: s.reduce((a, d) => a * d, 1) }, () => rand(-size, size))));
    return { p0, grads };
  };

  it('follows torch.optim.SGD with momentum, weight decay off for norm parameters, and clipping', async () => {
    await activate(backend);
    const { p0, grads } = make();
    const lrs = [0.1, 0.05, 0.02];
    const want = p0.map((p) => p.slice());
    const wantNorms = torchSgd(want, grads, lrs, { momentum: 0.9, weightDecay: [1e-2, 0], clipNorm: 2 });
    const params = new Map(p0.map((p, k) => [k === 0 ? 'conv.weight' : 'norm.weight', tf.variable(tf.tensor(p, shapes[k]))]));
    const sgd = new MomentumSgd({ momentum: 0.9, weightDecay: 1e-2, clipNorm: 2 }, (name) => name.startsWith('norm.'));
    const before = tf.memory().numTensors;
    for (let step = 0; step < grads.length; step++) {
      const g = Object.fromEntries([...params.keys()].map((name, k) => [name, tf.tensor(grads[step][k], shapes[k])]));
      const norm = await sgd.step(params, g, lrs[step]);
      expect(norm / wantNorms[step], `step ${step} gradient norm`).toBeCloseTo(1, 5);
      tf.dispose(Object.values(g));
      // the two momentum buffers are new after the first step; nothing else stays
      expect(tf.memory().numTensors, `tensors after step ${step}`).toBe(before + 2);
    }
    const got = [...params.values()];
    for (let k = 0; k < got.length; k++) expect(relL2(await got[k].data(), want[k]), `parameter ${k}`).toBeLessThan(1e-6);
    sgd.dispose();
    tf.dispose(got);
  });

  it('resumes from loadState as the uninterrupted torch run, holding one tensor a buffer', async () => {
    await activate(backend);
    const { p0, grads } = make();
    const lrs = [0.1, 0.05, 0.02];
    const want = p0.map((p) => p.slice());
    torchSgd(want, grads, lrs, { momentum: 0.9, weightDecay: [1e-2, 0], clipNorm: 2 });
    const params = new Map(p0.map((p, k) => [k === 0 ? 'conv.weight' : 'norm.weight', tf.variable(tf.tensor(p, shapes[k]))]));
    const options = { momentum: 0.9, weightDecay: 1e-2, clipNorm: 2 };
    const noDecay = (name: string) => name.startsWith('norm.');
    const stepOnce = async (sgd: MomentumSgd, step: number) => {
      const g = Object.fromEntries([...params.keys()].map((name, k) => [name, tf.tensor(grads[step][k], shapes[k])]));
      await sgd.step(params, g, lrs[step]);
      tf.dispose(Object.values(g));
    };
    const first = new MomentumSgd(options, noDecay);
    await stepOnce(first, 0);
    // what a checkpoint stores: the buffers' values, read back from the backend
    const saved = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, b] of first.state()) saved.set(name, { shape: [...b.shape], data: (await b.data()) as Float32Array });
    first.dispose();
    const before = tf.memory().numTensors;
    const resumed = new MomentumSgd(options, noDecay);
    resumed.loadState(saved);
    expect(tf.memory().numTensors, 'after loadState').toBe(before + 2);
    resumed.loadState(saved);
    expect(tf.memory().numTensors, 'after a second loadState').toBe(before + 2);
    for (const step of [1, 2]) await stepOnce(resumed, step);
    expect(tf.memory().numTensors, 'after two resumed steps').toBe(before + 2);
    const got = [...params.values()];
    for (let k = 0; k < got.length; k++) expect(relL2(await got[k].data(), want[k]), `parameter ${k}`).toBeLessThan(1e-6);
    resumed.dispose();
    expect(tf.memory().numTensors, 'after dispose').toBe(before);
    tf.dispose(got);
  });

  it('runs one kernel a parameter for the update (after the gradient norm)', async () => {
    await activate(backend);
    const { p0, grads } = make();
    const params = new Map(p0.map((p, k) => [`p${k}`, tf.variable(tf.tensor(p, shapes[k]))]));
    const sgd = new MomentumSgd({ momentum: 0.9, weightDecay: 1e-4, clipNorm: 1 });
    for (const step of [0, 1]) {
      const g = Object.fromEntries([...params.keys()].map((name, k) => [name, tf.tensor(grads[step][k], shapes[k])]));
      const info = await tf.profile(async () => {
        await sgd.step(params, g, 0.1);
        return [];
      });
      const names = info.kernels.map((k) => k.name);
      expect(names.filter((n) => n === 'DynheadMomentumSgd'), `step ${step}`).toHaveLength(2);
      expect(names, `step ${step}`).not.toContain('Sub');
      // the gradient norm: on webgpu one kernel for up to 7 gradients; elsewhere the ops, whose rounding training keeps
      expect(names.filter((n) => n === 'DynheadSumOfSquares'), `step ${step}`).toHaveLength(backend === 'webgpu' ? 1 : 0);
      expect(names.filter((n) => n === 'Square'), `step ${step}`).toHaveLength(backend === 'webgpu' ? 0 : 2);
      tf.dispose(Object.values(g));
    }
    sgd.dispose();
    tf.dispose([...params.values()]);
  });
});

describe.each(TEST_BACKENDS.filter((b) => b !== 'webgpu'))('MomentumSgd on %s', (backend) => {
  it('updates exactly as the tfjs ops it replaces', async () => {
    await activate(backend);
    const rand = seededRandom(5);
    const n = 1000;
    const p0 = Array.from({ length: n }, () => rand(-1, 1));
    const grads = [0, 1, 2].map(() => Array.from({ length: n }, () => rand(-0.5, 0.5)));
    const run = async () => {
      const params = new Map([['w', tf.variable(tf.tensor1d(p0))]]);
      const sgd = new MomentumSgd({ momentum: 0.9, weightDecay: 1e-4, clipNorm: 5 });
      for (const g of grads) {
        const t = tf.tensor1d(g);
        await sgd.step(params, { w: t }, 0.01);
        t.dispose();
      }
      const out = Array.from(await (params.get('w') as tf.Variable).data());
      sgd.dispose();
      tf.dispose([...params.values()]);
      return out;
    };
    const withKernel = await run();
    const kernel = tf.getKernel('DynheadMomentumSgd', backend) as tf.KernelConfig;
    tf.unregisterKernel('DynheadMomentumSgd', backend);
    try {
      expect(withKernel).toEqual(await run());
    } finally {
      tf.registerKernel(kernel);
    }
  });
});
