import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, seededRandom } from '../../../test/backends';
import { concatRows, packPyramid, splitRows, unpackPyramid } from './index';
import { programsOf } from './webgpu-programs.test-util';

// webgpu first, so that this process's first call into the package is there (kernels register on first use)
const BACKENDS = [...TEST_BACKENDS.filter((b) => b === 'webgpu'), ...TEST_BACKENDS.filter((b) => b !== 'webgpu')];

const ROWS = [6, 1, 3, 0, 2];
const TRAILING = [3, 2];
const ROW_SIZE = 6;
const TOTAL = ROWS.reduce((a, n) => a + n, 0);

function seeded(n: number, seed: number): number[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => Math.round(rand(-50, 50) * 64) / 64);
}

/** Block i of `values` (ROWS[i] rows of ROW_SIZE values), cut on the host. */
function block(values: number[], i: number): number[] {
  const first = ROWS.slice(0, i).reduce((a, n) => a + n, 0);
  return values.slice(first * ROW_SIZE, (first + ROWS[i]) * ROW_SIZE);
}

describe.each(BACKENDS)('row blocks on %s', (backend) => {
  it('splitRows cuts float32 and int32 rows where the host cuts them, and dispatches no program', async () => {
    await activate(backend);
    const before = tf.memory().numTensors;
    const values = seeded(TOTAL * ROW_SIZE, 1);
    for (const dtype of ['float32', 'int32'] as const) {
      const data = dtype === 'int32' ? values.map(Math.round) : values;
      const x = tf.tensor(data, [TOTAL, ...TRAILING], dtype);
      const { value: parts, kinds } = await programsOf(async () => splitRows(x, ROWS));
      if (kinds) expect([...kinds]).toEqual([]);
      expect(parts.map((p) => p.shape)).toEqual(ROWS.map((n) => [n, ...TRAILING]));
      for (const [i, p] of parts.entries()) {
        expect(p.dtype).toBe(dtype);
        expect(Array.from(await p.data())).toEqual(block(data, i));
      }
      tf.dispose([x, ...parts]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('concatRows stacks blocks as the host does, from tensors computed and disposed before the copies run', async () => {
    await activate(backend);
    const before = tf.memory().numTensors;
    const values = seeded(TOTAL * ROW_SIZE, 2);
    // each block the output of a program not yet submitted (webgpu would multiply blocks this small
    // on the host), disposed by tidy right after the concat
    const onHost = 'WEBGPU_CPU_FORWARD';
    const prior = backend === 'webgpu' && tf.env().getBool(onHost);
    if (backend === 'webgpu') tf.env().set(onHost, false);
    const { value: out, kinds } = await programsOf(async () => tf.tidy(() => concatRows(ROWS.map((n, i) => tf.mul(tf.tensor(block(values, i), [n, ...TRAILING]), 2)))));
    if (backend === 'webgpu') tf.env().set(onHost, prior);
    if (kinds) expect([...kinds]).toEqual([['binary', ROWS.length]]);
    expect(out.shape).toEqual([TOTAL, ...TRAILING]);
    expect(Array.from(await out.data())).toEqual(values.map((v) => 2 * v));
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a packed pyramid goes through packPyramid and unpackPyramid unchanged', async () => {
    await activate(backend);
    const before = tf.memory().numTensors;
    const sizes: [number, number][] = [
      [5, 7],
      [3, 4],
      [1, 2],
    ];
    const maps = sizes.map(([h, w], l) => tf.tensor4d(seeded(2 * h * w * 3, 10 + l), [2, h, w, 3]));
    const packed = packPyramid(maps);
    expect(Array.from(await packed.data())).toEqual((await Promise.all(maps.map((m) => m.data()))).flatMap((d) => Array.from(d)));
    const back = unpackPyramid(packed, { batch: 2, sizes });
    for (const [l, m] of back.entries()) {
      expect(m.shape).toEqual(maps[l].shape);
      expect(Array.from(await m.data())).toEqual(Array.from(await maps[l].data()));
    }
    tf.dispose([...maps, packed, ...back]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the gradient of a split is its blocks\' gradients stacked, and that of a concat is its gradient cut', async () => {
    await activate(backend);
    const before = tf.memory().numTensors;
    const values = seeded(TOTAL * ROW_SIZE, 3);
    const weights = seeded(TOTAL * ROW_SIZE, 4);
    // loss = sum over blocks i != 1 of sum(block_i * w_i): block 1 has no gradient of its own (nor
    // has the empty block 3: webgpu's sum of an empty tensor fails)
    const splitGrad = tf.grad((x: tf.Tensor) => tf.addN(splitRows(x, ROWS).flatMap((p, i) => (i === 1 || ROWS[i] === 0 ? [] : [tf.sum(tf.mul(p, tf.tensor(block(weights, i), p.shape)))]))));
    const x = tf.tensor(values, [TOTAL, ...TRAILING]);
    const g = splitGrad(x);
    const expected = ROWS.flatMap((_, i) => (i === 1 ? block(weights, i).map(() => 0) : block(weights, i)));
    expect(Array.from(await g.data())).toEqual(expected);
    const blocks = ROWS.map((n, i) => tf.tensor(block(values, i), [n, ...TRAILING]));
    const concatGrads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(concatRows(xs), tf.tensor(weights, [TOTAL, ...TRAILING]))))(blocks);
    for (const [i, cg] of concatGrads.entries()) expect(Array.from(await cg.data())).toEqual(block(weights, i));
    tf.dispose([x, g, ...blocks, ...concatGrads]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the shape at fault', async () => {
    await activate(backend);
    const x = tf.zeros([5, 2]);
    expect(() => splitRows(x, [2, 2])).toThrow('splitRows: x has shape [5,2]; the blocks need 4 rows');
    const y = tf.zeros([1, 3]);
    expect(() => concatRows([x, y])).toThrow('concatRows: xs[1] is float32 [1,3]; xs[0] is float32 [5,2]');
    expect(() => concatRows([])).toThrow('concatRows: no tensors');
    tf.dispose([x, y]);
  });
});
