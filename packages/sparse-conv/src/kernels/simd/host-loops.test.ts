import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { activate, seededRandom } from '../../../../../test/backends';
import { groupNormInference } from '../../group-norm';
import { blendResized, conv2dFewOutputs, conv2dFewOutputsEach, depthwiseNormEach } from '../../index';
import { groupNormLoop } from '../group-norm-loop';
import { gatedResidualRows, im2colRows, scatterRowsInto } from '../row-loops';
import { hostLoops } from './host-loops';
import { HOST_LOOPS_SOURCE_SHA256, HOST_LOOPS_WASM_BASE64 } from './host-loops.wasm';
import { gatedResidualSimd, groupNormRowsSimd, im2colSimd, scatterRowsSimd } from './wasm-simd-kernels';

const source = fileURLToPath(new URL('./host-loops.c', import.meta.url));

/** Largest |a - b| relative to the largest |b|. */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}

describe('WebAssembly SIMD loops (wasm backend)', () => {
  it('the committed module is built from host-loops.c as it is now (run scripts/build-wasm.mjs after editing it)', () => {
    expect(createHash('sha256').update(readFileSync(source)).digest('hex')).toBe(HOST_LOOPS_SOURCE_SHA256);
  });

  it('imports the backend memory and owns nothing in it', () => {
    const mod = new WebAssembly.Module(Buffer.from(HOST_LOOPS_WASM_BASE64, 'base64'));
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    const exports = WebAssembly.Module.exports(mod);
    expect(exports.length).toBeGreaterThan(0);
    expect(exports.filter((e) => e.kind !== 'function')).toEqual([]);
  });

  it('binds to the wasm backend and leaves every other tensor in its heap untouched', async () => {
    await activate('wasm');
    expect(hostLoops(tf.backend())).not.toBeNull();
    const sentinel = tf.tensor1d([1.5, -2.25, 3.125]);
    const x = tf.randomNormal([2, 5, 7, 16], 0, 1, 'float32', 3);
    const y = groupNormInference(x, [35, 35], { groups: 2, gamma: tf.ones([16]), beta: tf.zeros([16]) }, { relu: true });
    expect(Array.from(await sentinel.data())).toEqual([1.5, -2.25, 3.125]);
    tf.dispose([sentinel, x, y]);
  });

  // Each SIMD kernel against its JavaScript loop on the same inputs (those are tested against
  // float64 references in sparse-conv.test.ts); channels a multiple of 4, odd sizes, batch 2.
  const [b, h, w, c] = [2, 5, 7, 12];
  const rand = seededRandom(11);
  const xs = Float32Array.from({ length: b * h * w * c }, () => rand(-2, 2));
  const idx = Int32Array.from([0, 6, 7, 13, 34, 35, 41, 62, 69]);
  const rows = Float32Array.from({ length: idx.length * c }, () => rand(-1, 1));
  const gate = Float32Array.from({ length: b * h * w }, () => rand(0, 1));

  it('im2col and scatter copy exactly what the JavaScript loops copy', async () => {
    await activate('wasm');
    const backend = tf.backend();
    const [xt, it_, rt] = [tf.tensor4d(xs, [b, h, w, c]), tf.tensor1d(idx, 'int32'), tf.tensor2d(rows, [idx.length, c])];
    const col = im2colSimd(backend, { x: xt, indices: it_ }, { kernel: 3 }) as tf.TensorInfo;
    const wantCol = new Float32Array(idx.length * 9 * c);
    im2colRows(xs, idx, { height: h, width: w, channels: c, kernel: 3 }, wantCol);
    expect(Array.from(await tf.engine().makeTensorFromTensorInfo(col).data())).toEqual(Array.from(wantCol));
    const scattered = scatterRowsSimd(backend, { rows: rt, indices: it_ }, { outShape: [b, h, w, c] }) as tf.TensorInfo;
    const wantScatter = new Float32Array(b * h * w * c);
    scatterRowsInto(rows, idx, c, wantScatter);
    expect(Array.from(await tf.engine().makeTensorFromTensorInfo(scattered).data())).toEqual(Array.from(wantScatter));
    tf.dispose([xt, it_, rt]);
  });

  it('gated residual and GroupNorm (bias, ReLU, gate, two images) equal the JavaScript loops to float32 rounding', async () => {
    await activate('wasm');
    const backend = tf.backend();
    const [xt, it_, rt, gt] = [tf.tensor4d(xs, [b, h, w, c]), tf.tensor1d(idx, 'int32'), tf.tensor2d(rows, [idx.length, c]), tf.tensor4d(gate, [b, h, w, 1])];
    const res = gatedResidualSimd(backend, { rows: rt, indices: it_, gate: gt, input: xt }, {}) as tf.TensorInfo;
    const wantRes = new Float32Array(xs.length);
    gatedResidualRows(rows, idx, gate, xs, c, wantRes);
    expect(maxRelDiff(await tf.engine().makeTensorFromTensorInfo(res).data(), wantRes)).toBeLessThan(1e-6);

    const gamma = Float32Array.from({ length: c }, () => rand(0.5, 1.5));
    const beta = Float32Array.from({ length: c }, () => rand(-0.5, 0.5));
    const bias = Float32Array.from({ length: c }, () => rand(-0.5, 0.5));
    const [gm, bt, bs] = [tf.tensor1d(gamma), tf.tensor1d(beta), tf.tensor1d(bias)];
    for (const relu of [false, true]) {
      const attrs = { counts: [h * w, h * w], groups: 3, eps: 1e-5, relu };
      const y = groupNormRowsSimd(backend, { x: xt, gamma: gm, beta: bt, bias: bs, rowScale: gt }, attrs as unknown as tf.NamedAttrMap) as tf.TensorInfo;
      const want = new Float32Array(xs.length);
      groupNormLoop(xs, { ...attrs, channels: c, gamma, beta, bias, rowScale: gate }, want);
      expect(maxRelDiff(await tf.engine().makeTensorFromTensorInfo(y).data(), want), `relu ${relu}`).toBeLessThan(1e-6);
    }
    tf.dispose([xt, it_, rt, gt, gm, bt, bs]);
  });

  it('the fused ops run as the SIMD kernels on wasm', async () => {
    await activate('wasm');
    const x = tf.randomNormal([1, 6, 5, 8]) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 8, 1]) as tf.Tensor4D;
    const layer = { filter: f, bias: tf.zeros([8]) as tf.Tensor1D, norm: { groups: 2, gamma: tf.ones([8]) as tf.Tensor1D, beta: tf.zeros([8]) as tf.Tensor1D } };
    const one = tf.scalar(1);
    const info = await tf.profile(() => {
      tf.dispose([conv2dFewOutputs(x, f), ...conv2dFewOutputsEach(x, [f, f]), ...depthwiseNormEach(x, [layer, layer]), blendResized(x, one, [tf.zeros([1, 3, 3, 8]) as tf.Tensor4D], one)]);
    });
    expect(new Set(info.kernels.map((k) => k.name).filter((n) => n.startsWith('Dynhead')))).toEqual(new Set(['DynheadConv3x3Few', 'DynheadDepthwiseNormEach', 'DynheadBlendResized']));
    tf.dispose([x, f, layer.bias, layer.norm.gamma, layer.norm.beta, one]);
  });

  it('leaves channel counts that are not a multiple of 4 to the JavaScript loops', async () => {
    await activate('wasm');
    const x = tf.zeros([1, 2, 2, 6]);
    expect(im2colSimd(tf.backend(), { x, indices: tf.tensor1d([0], 'int32') }, { kernel: 3 })).toBeNull();
    tf.dispose(x);
  });
});
