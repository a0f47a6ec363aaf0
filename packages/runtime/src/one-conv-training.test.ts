import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { conv2dFilterGradRef, type ConvCase, outShape } from './kernels/conv-reference';

// A one-conv model (3x3 conv + bias, no activation) trained by SGD toward a fixed target on
// every backend: the smallest loop that needs Conv2DBackpropFilter/Input and bias gradients.
const X_SHAPE: [number, number, number, number] = [2, 9, 7, 3];
const F_SHAPE: [number, number, number, number] = [3, 3, 3, 4];
const STEPS = 6;
const LR = 0.1;

function seeded(n: number, seed: number, scale = 1): Float32Array {
  const rand = seededRandom(seed);
  return Float32Array.from({ length: n }, () => rand(-scale, scale));
}
const size = (s: number[]) => s.reduce((p, d) => p * d, 1);

interface Run {
  losses: number[];
  /** Gradients of the first step (at the initial weights). */
  dW: Float32Array;
  db: Float32Array;
  tensorsAfterFirst: number;
  tensorsAfterLast: number;
}

async function train(backend: (typeof TEST_BACKENDS)[number], stride: number): Promise<Run> {
  await activate(backend);
  const c: ConvCase = { x: X_SHAPE, filter: F_SHAPE, stride, pad: 'same' };
  const yShape = outShape(c, 4) as [number, number, number, number];
  const x = tf.tensor4d(seeded(size(X_SHAPE), 1), X_SHAPE);
  const target = tf.tensor4d(seeded(size(yShape), 2), yShape);
  const w = tf.variable(tf.tensor4d(seeded(size(F_SHAPE), 3, 0.3), F_SHAPE), true, `w-${backend}-${stride}`);
  const b = tf.variable(tf.tensor1d(seeded(4, 4, 0.1)), true, `b-${backend}-${stride}`);
  const loss = () => tf.mean(tf.squaredDifference(tf.add(tf.conv2d(x, w, stride, 'same'), b), target)) as tf.Scalar;
  const losses: number[] = [];
  let dW = new Float32Array();
  let db = new Float32Array();
  let tensorsAfterFirst = 0;
  for (let step = 0; step < STEPS; step++) {
    const { value, grads } = tf.variableGrads(loss, [w, b]);
    if (step === 0) {
      dW = Float32Array.from(await grads[w.name].data());
      db = Float32Array.from(await grads[b.name].data());
    }
    losses.push((await value.data())[0]);
    tf.tidy(() => {
      w.assign(tf.sub(w, tf.mul(grads[w.name], LR)));
      b.assign(tf.sub(b, tf.mul(grads[b.name], LR)));
    });
    tf.dispose([value, ...Object.values(grads)]);
    if (step === 0) tensorsAfterFirst = tf.memory().numTensors;
  }
  const tensorsAfterLast = tf.memory().numTensors;
  tf.dispose([x, target, w, b]);
  return { losses, dW, db, tensorsAfterFirst, tensorsAfterLast };
}

describe.each([1, 2])('one-conv SGD training, stride %i', (stride) => {
  it('cpu: first-step gradients equal the float64 formulas', async () => {
    const run = await train('cpu', stride);
    const c: ConvCase = { x: X_SHAPE, filter: F_SHAPE, stride, pad: 'same' };
    const x = seeded(size(X_SHAPE), 1);
    const yShape = outShape(c, 4);
    const target = seeded(size(yShape), 2);
    // float64 forward pass, then dy = 2 (y - t) / n for the mean squared error.
    const w = seeded(size(F_SHAPE), 3, 0.3);
    const b = seeded(4, 4, 0.1);
    const [, Ho, Wo] = yShape;
    const y = new Float64Array(size(yShape));
    const [kh, kw, ci, co] = F_SHAPE;
    const top = Math.floor(Math.max((Ho - 1) * stride + kh - X_SHAPE[1], 0) / 2);
    const left = Math.floor(Math.max((Wo - 1) * stride + kw - X_SHAPE[2], 0) / 2);
    for (let n = 0; n < X_SHAPE[0]; n++)
      for (let h = 0; h < Ho; h++)
        for (let q = 0; q < Wo; q++)
          for (let o = 0; o < co; o++) {
            let s = b[o];
            for (let a = 0; a < kh; a++)
              for (let e = 0; e < kw; e++) {
                const i = h * stride - top + a;
                const j = q * stride - left + e;
                if (i < 0 || j < 0 || i >= X_SHAPE[1] || j >= X_SHAPE[2]) continue;
                for (let k = 0; k < ci; k++) s += x[((n * X_SHAPE[1] + i) * X_SHAPE[2] + j) * ci + k] * w[((a * kw + e) * ci + k) * co + o];
              }
            y[((n * Ho + h) * Wo + q) * co + o] = s;
          }
    const dy = y.map((v, i) => (2 * (v - target[i])) / y.length);
    const loss0 = y.reduce((p, v, i) => p + (v - target[i]) ** 2, 0) / y.length;
    const db = new Float64Array(co);
    dy.forEach((v, i) => {
      db[i % co] += v;
    });
    expect(Math.abs(run.losses[0] - loss0) / loss0).toBeLessThan(1e-6);
    expect(relL2(run.dW, conv2dFilterGradRef(c, x, dy))).toBeLessThan(1e-5);
    expect(relL2(run.db, db)).toBeLessThan(1e-5);
  });

  it.each(TEST_BACKENDS)('%s: loss falls, gradients match cpu within 1e-4, no tensors leak', async (backend) => {
    const ref = await train('cpu', stride);
    const run = await train(backend, stride);
    for (let i = 1; i < STEPS; i++) expect(run.losses[i], `step ${i}`).toBeLessThan(run.losses[i - 1]);
    expect(run.losses[STEPS - 1]).toBeLessThan(0.95 * run.losses[0]);
    expect(relL2(run.dW, ref.dW)).toBeLessThan(1e-4);
    expect(relL2(run.db, ref.db)).toBeLessThan(1e-4);
    expect(relL2(run.losses, ref.losses)).toBeLessThan(1e-4);
    expect(run.tensorsAfterLast).toBe(run.tensorsAfterFirst);
  });
});
