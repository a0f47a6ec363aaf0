import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/**
 * Runs the same small step (y = relu(x W - 50) + x W on n x n integers, W of -1, 0 and 1, so that
 * float32 results are exact) `steps` times, checking each result against the float64 one and the
 * tensor count after each; `after(step)` runs after each step. The caches' steady loop.
 */
export async function runSteadySteps(n: number, steps: number, after: (step: number) => void): Promise<void> {
  const xs = Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) - 6);
  const ws = Array.from({ length: n * n }, (_, i) => ((i * 5) % 3) - 1);
  const expected = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += xs[r * n + k] * ws[k * n + c];
      expected[r * n + c] = Math.max(s - 50, 0) + s;
    }
  }
  const x = tf.tensor2d(xs, [n, n]);
  const w = tf.tensor2d(ws, [n, n]);
  const before = tf.memory().numTensors;
  for (let step = 0; step < steps; step++) {
    const y = tf.tidy(() => {
      const p = tf.matMul(x, w);
      return tf.add(tf.relu(tf.sub(p, 50)), p);
    });
    expect(Array.from(await y.data()), `step ${step}`).toEqual(Array.from(expected));
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    after(step);
  }
  tf.dispose([x, w]);
}
