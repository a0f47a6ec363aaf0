import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { activate } from '../../../../test/backends';

describe('AddN on webgpu', () => {
  it('sums 20 GPU tensors and a gradient shared by 20 uses (one dispatch would bind 21 storage buffers)', async () => {
    await activate('webgpu');
    const n = 4096; // above the size that tfjs-webgpu forwards to the CPU
    const xs = Array.from({ length: 20 }, (_, i) => tf.fill([n], i + 1));
    const sum = tf.addN(xs);
    const got = await sum.data();
    // 1 + 2 + ... + 20 = 210 everywhere.
    expect(got.every((v) => v === 210)).toBe(true);
    // A weight used 20 times gets 20 gradient contributions, summed by AddN.
    const w = tf.fill([n], 0.5);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.addN(Array.from({ length: 20 }, (_, i) => tf.mul(v, i + 1)))))(w);
    expect((await g.data()).every((v) => v === 210)).toBe(true);
    const before = tf.memory().numTensors;
    tf.dispose(tf.addN(xs));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...xs, sum, w, g]);
  });
});
