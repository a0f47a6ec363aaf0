import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { activate } from '../../test/backends';
import { passProfile } from './measure';

/** A pass of three kernels, each one webgpu program: a matMul, a relu, and an add of the two. */
async function threeKernels(): Promise<void> {
  const a = tf.tensor2d([1, -2, 3, -4], [2, 2]);
  const y = tf.tidy(() => {
    const m = tf.matMul(a, a);
    return tf.add(m, tf.relu(m));
  });
  // [[1,-2],[3,-4]]^2 = [[-5,6],[-9,10]]; plus its relu
  expect(Array.from(await y.data())).toEqual([-5, 12, -9, 20]);
  tf.dispose([a, y]);
}

describe('passProfile', () => {
  it('on webgpu times every dispatch on the GPU and sums them per program class', async () => {
    await activate('webgpu');
    const p = await passProfile(threeKernels);
    expect(p.kernels).toBe(3);
    expect(p.dispatches).toBe(3);
    // SwiftShader here has timestamp queries, as GPUs do
    expect(p.gpuMs).not.toBeNull();
    const programs = p.programs ?? [];
    expect(programs.reduce((n, q) => n + q.dispatches, 0)).toBe(3);
    expect(programs.reduce((ms, q) => ms + q.ms, 0)).toBeCloseTo(p.gpuMs as number, 9);
    expect(programs.every((q) => q.ms >= 0 && /Program/.test(q.name))).toBe(true);
    // most first
    expect(programs.map((q) => q.ms)).toEqual([...programs.map((q) => q.ms)].sort((x, y) => y - x));
    // each dispatch in order, with its output shape: the matMul's [2,2] (tfjs-webgpu's batched [1,2,2]), the relu's, the add's
    const each = p.dispatchTimes ?? [];
    expect(each.map((d) => d.shape.reduce((a, v) => a * v, 1))).toEqual([4, 4, 4]);
    expect(each.reduce((ms, d) => ms + d.ms, 0)).toBeCloseTo(p.gpuMs as number, 9);
  });

  it('has no GPU time where there is no GPU (cpu)', async () => {
    await activate('cpu');
    const p = await passProfile(threeKernels);
    expect([p.kernels, p.dispatches, p.gpuMs, p.programs, p.dispatchTimes]).toEqual([3, null, null, null, null]);
  });
});
