import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { activate } from '../../test/backends';
import { chunkWebGPUAddN } from './webgpu-addn';

describe('AddN on webgpu in chunks', () => {
  it('sums 20 GPU tensors exactly (one dispatch would bind 21 storage buffers)', async () => {
    await activate('webgpu');
    chunkWebGPUAddN();
    const n = 4096; // above the size that tfjs-webgpu forwards to the CPU
    const xs = Array.from({ length: 20 }, (_, i) => tf.fill([n], i + 1));
    const sum = tf.addN(xs);
    const got = await sum.data();
    // 1 + 2 + ... + 20 = 210 everywhere.
    expect(Array.from(got.slice(0, 3))).toEqual([210, 210, 210]);
    expect(got.every((v) => v === 210)).toBe(true);
    const before = tf.memory().numTensors;
    tf.dispose(tf.addN(xs));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...xs, sum]);
  });
});
