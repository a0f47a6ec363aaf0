import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { blendResized, blendResizedWithConvs } from './index';
import { refConv, refResize } from './reference.test-util';

type Shape4 = [number, number, number, number];

interface Case {
  name: string;
  x: Shape4;
  sources: [number, number][];
  weighted: boolean;
  alignCorners: boolean;
}

// C = 8 runs wasm's SIMD loop, C = 6 its JavaScript one
const CASES: Case[] = [
  { name: 'a finer and a coarser level, batch 2, C=8', x: [2, 5, 7, 8], sources: [[9, 13], [3, 4]], weighted: true, alignCorners: true },
  { name: 'one coarser level, C=6', x: [1, 6, 5, 6], sources: [[3, 3]], weighted: true, alignCorners: true },
  { name: 'a source of the same size, unweighted, C=8', x: [1, 4, 4, 8], sources: [[4, 4], [2, 2]], weighted: false, alignCorners: true },
  { name: '1x1 target from a 2x3 map, no align_corners, C=4', x: [2, 1, 1, 4], sources: [[2, 3]], weighted: true, alignCorners: false },
  // webgpu on SwiftShader: a thread takes 16 of the 20 channel quads, another the last 4
  { name: 'C=80, a finer and a coarser level', x: [1, 3, 4, 80], sources: [[5, 7], [2, 2]], weighted: true, alignCorners: true },
];

describe.each(TEST_BACKENDS)('blendResized on %s', (backend) => {
  it.each(CASES)('equals x * xw + (sum of the bilinear resizes) * sw in float64: $name', async (c) => {
    await activate(backend);
    const rand = seededRandom(31);
    const [b, h, w, ch] = c.x;
    const xv = Float64Array.from({ length: b * h * w * ch }, () => Math.fround(rand(-1, 1)));
    const srcs = c.sources.map(([sh, sw]) => ({ shape: [b, sh, sw, ch] as Shape4, v: Float64Array.from({ length: b * sh * sw * ch }, () => Math.fround(rand(-1, 1))) }));
    const [xw, sw] = [Math.fround(0.75), Math.fround(-1.25)];
    const want = new Float64Array(xv.length);
    for (const s of srcs) {
      const r = refResize(s.v, s.shape, h, w, c.alignCorners);
      for (let i = 0; i < want.length; i++) want[i] += r[i];
    }
    for (let i = 0; i < want.length; i++) want[i] = want[i] * (c.weighted ? sw : 1) + xv[i] * xw;
    const x = tf.tensor4d(Float32Array.from(xv), c.x);
    const sources = srcs.map((s) => tf.tensor4d(Float32Array.from(s.v), s.shape));
    const [xwT, swT] = [tf.tensor1d([xw]), tf.scalar(sw)];
    const before = tf.memory().numTensors;
    const y = blendResized(x, xwT, sources, c.weighted ? swT : null, c.alignCorners);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(y.shape).toEqual(c.x);
    expect(relL2(await y.data(), want)).toBeLessThan(backend === 'webgpu' ? 1e-5 : 1e-6);
    // with the 3x3 convs of the output to one channel (a depth node's gate), taken as it is written
    const filters = [0, 1].map(() => Array.from({ length: 9 * ch }, () => Math.fround(rand(-0.5, 0.5))));
    const filterTs = filters.map((f) => tf.tensor4d(f, [3, 3, ch, 1]));
    const { output, convs } = blendResizedWithConvs(x, xwT, sources, c.weighted ? swT : null, filterTs, c.alignCorners);
    expect(relL2(await output.data(), want)).toBeLessThan(backend === 'webgpu' ? 1e-5 : 1e-6);
    for (const [j, f] of filters.entries()) {
      expect(convs[j].shape).toEqual([b, h, w, 1]);
      expect(relL2(await convs[j].data(), refConv({ x: want, shape: c.x, filter: f, k: 3, cout: 1 })), `conv ${j}`).toBeLessThan(backend === 'webgpu' ? 1e-4 : 1e-5);
    }
    tf.dispose([x, ...sources, xwT, swT, y, output, ...convs, ...filterTs]);
  });
});

describe('blendResized, bad input', () => {
  it('names the source and the weight at fault', () => {
    const x = tf.zeros([1, 4, 4, 8]) as tf.Tensor4D;
    const one = tf.scalar(1);
    expect(() => blendResized(x, one, [tf.zeros([1, 2, 2, 4]) as tf.Tensor4D], one)).toThrow('sources[0] has shape [1,2,2,4]; it needs x\'s batch 1 and channels 8');
    expect(() => blendResized(x, tf.ones([2]), [], null)).toThrow('xWeight [2]');
  });
});
