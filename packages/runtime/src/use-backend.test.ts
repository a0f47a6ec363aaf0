import * as tf from '@tensorflow/tfjs-core';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, useBackend } from './index';

describe('useBackend', () => {
  for (const name of ['cpu', 'wasm', 'webgpu'] as const) {
    it(`activates ${name} and takes gradients through tfjs-core alone`, async () => {
      const got = await useBackend(name);
      expect(got.name).toBe(name);
      expect(tf.getBackend()).toBe(name);
      const x = tf.tensor1d([1, -2, 3]);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(v, v)))(x);
      expect(Array.from(await g.data())).toEqual([2, -4, 6]);
      tf.dispose([x, g]);
    });
  }

  it('leaves setImmediate working for everyone else once Dawn ticks are throttled (webgpu in Node)', async () => {
    await useBackend('webgpu');
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('dynhead.dawnTicks')]).toBe(true);
    // SwiftShader (what these machines have) keeps its ticks slowed; a GPU adapter would not
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('dynhead.dawnTicksSlowing')]).toBe(true);
    const got: number[] = [];
    await new Promise<void>((resolve) => setImmediate((a: number, b: number) => resolve(void got.push(a, b)), 3, 4));
    expect(got).toEqual([3, 4]);
    expect(await promisify(setImmediate)('value')).toBe('value');
    // a readback, which waits on Dawn's ticks, still settles
    const x = tf.tensor1d([1.5, -2]);
    const y = tf.relu(x);
    expect(Array.from(await y.data())).toEqual([1.5, 0]);
    tf.dispose([x, y]);
  });

  it('names the package to install for tensorflow', async () => {
    await expect(useBackend('tensorflow')).rejects.toThrow(/^backend 'tensorflow' needs @tensorflow\/tfjs-node-gpu \(CUDA\) or @tensorflow\/tfjs-node: npm install @tensorflow\/tfjs-node-gpu$/);
  });

  it('lists the available backends for an unknown name', async () => {
    await expect(useBackend('cuda')).rejects.toThrow(BackendUnavailableError);
    await expect(useBackend('cuda')).rejects.toThrow(/available: cpu, wasm, webgpu, tensorflow/);
  });
});
