import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { type SparseConvMethod, conv2dFewOutputs, conv2dFewOutputsEach, convLayer, gateMask, groupNormInference, maskedConv2d, sparseConv2d, sparseConv2dWithConvs } from './index';
import { randomMask, refConv, refGroupNorm, refMaxPool3x3, refPostMask } from './reference.test-util';

type Shape4 = [number, number, number, number];

interface Case {
  name: string;
  shape: Shape4;
  k: number;
  cout: number;
  depthwise?: boolean;
  norm?: number; // groups
  relu?: boolean;
  bias?: boolean;
}

function makeCase(c: Case, density: number | 'one', seed: number) {
  const rand = seededRandom(seed);
  const [b, h, w, cin] = c.shape;
  const co = c.depthwise ? cin : c.cout;
  const x = Array.from({ length: b * h * w * cin }, () => rand(-1, 1));
  const filter = Array.from({ length: c.k * c.k * cin * (c.depthwise ? 1 : c.cout) }, () => rand(-0.5, 0.5));
  const bias = c.bias ? Array.from({ length: co }, () => rand(-0.3, 0.3)) : undefined;
  const gamma = Array.from({ length: co }, () => rand(0.5, 1.5));
  const beta = Array.from({ length: co }, () => rand(-0.5, 0.5));
  let mask: Float32Array;
  if (density === 'one') {
    mask = new Float32Array(b * h * w);
    mask[Math.floor(rand() * b * h * w)] = 1;
  } else mask = randomMask(b * h * w, density, () => rand());
  return { x, filter, bias, gamma, beta, mask, co };
}

function tensors(c: Case, d: ReturnType<typeof makeCase>) {
  const [b, h, w, cin] = c.shape;
  return {
    x: tf.tensor4d(d.x, c.shape),
    mask: tf.tensor4d(d.mask, [b, h, w, 1]),
    filter: tf.tensor4d(d.filter, [c.k, c.k, cin, c.depthwise ? 1 : c.cout]),
    opts: {
      bias: d.bias ? tf.tensor1d(d.bias) : undefined,
      depthwise: c.depthwise,
      norm: c.norm ? { groups: c.norm, gamma: tf.tensor1d(d.gamma), beta: tf.tensor1d(d.beta) } : undefined,
      post: (c.relu ? 'relu' : 'none') as 'relu' | 'none',
    },
  };
}

/** float64 reference; sparse=true: GN statistics over active pixels only. */
function reference(c: Case, d: ReturnType<typeof makeCase>, sparse: boolean): Float64Array {
  const outShape: Shape4 = [c.shape[0], c.shape[1], c.shape[2], d.co];
  let y = refConv({ x: d.x, shape: c.shape, filter: d.filter, k: c.k, cout: c.cout, depthwise: c.depthwise, bias: d.bias });
  if (c.norm) y = refGroupNorm(y, outShape, c.norm, d.gamma, d.beta, sparse ? d.mask : undefined);
  return refPostMask(y, d.co, d.mask, c.relu ?? false);
}

const CASES: Case[] = [
  { name: 'conv3x3 + bias', shape: [1, 7, 9, 8], k: 3, cout: 6, bias: true },
  { name: 'conv3x3 + GN + relu, batch 3, odd size', shape: [3, 9, 7, 8], k: 3, cout: 8, norm: 2, relu: true },
  { name: 'conv1x1 + bias + relu', shape: [3, 5, 11, 6], k: 1, cout: 4, bias: true, relu: true },
  { name: 'depthwise3x3 + bias + GN', shape: [3, 9, 7, 8], k: 3, cout: 8, depthwise: true, bias: true, norm: 4 },
  { name: 'depthwise3x3, batch 1', shape: [1, 6, 5, 4], k: 3, cout: 4, depthwise: true },
  // webgpu's tiled GEMM: 5 row tiles, a last channel tile of one vec4, a part-filled last reduction step
  { name: 'conv3x3 + GN + relu, Cin 12, Cout 68, 286 pixels', shape: [2, 13, 11, 12], k: 3, cout: 68, norm: 4, relu: true },
  // webgpu: the pixel list over 10 blocks of 256 (in one pass), and GroupNorm over two chunks of 2048 rows
  { name: 'conv3x3 + bias + GN + relu, 48x50', shape: [1, 48, 50, 8], k: 3, cout: 8, bias: true, norm: 2, relu: true },
];
const DENSITIES: (number | 'one')[] = [0, 'one', 0.01, 0.5, 1];

/** FCOS's predictors as dense inference layers (webgpu: centerness through the gate conv program, bbox_pred through the quad-output program). */
const PREDICTOR_CASES: Case[] = [
  { name: 'conv3x3 + bias to one channel (centerness), batch 2', shape: [2, 9, 11, 8], k: 3, cout: 1, bias: true },
  { name: 'conv3x3 + bias to 4 channels (bbox_pred)', shape: [1, 7, 9, 12], k: 3, cout: 4, bias: true },
  { name: 'conv3x3 to 4 channels, no bias, batch 2', shape: [2, 6, 10, 16], k: 3, cout: 4 },
];

describe.each(TEST_BACKENDS)('sparse conv on %s', (backend) => {
  const tol = backend === 'webgpu' ? 1e-4 : 1e-5;

  const METHODS: SparseConvMethod[] = ['auto', 'gather', 'kernel', 'compact', 'dense'];
  it.each(CASES)('sparseConv2d equals the float64 reference (active-pixel GN), every method: $name', async (c) => {
    await activate(backend);
    for (const [i, density] of DENSITIES.entries()) for (const method of METHODS) {
      const d = makeCase(c, density, 100 + i);
      const t = tensors(c, d);
      const y = await sparseConv2d(t.x, t.mask, t.filter, { ...t.opts, method });
      expect(y.shape).toEqual([c.shape[0], c.shape[1], c.shape[2], d.co]);
      const got = await y.data();
      const want = reference(c, d, true);
      if (density === 0) expect(Array.from(got).every((v) => v === 0)).toBe(true);
      else expect(relL2(got, want), `density ${density}, ${method}`).toBeLessThan(tol);
      // exact zeros off the mask
      for (let p = 0; p < d.mask.length; p++) if (d.mask[p] === 0) for (let o = 0; o < d.co; o++) expect(Object.is(got[p * d.co + o], 0), `${method} at ${p}`).toBe(true);
      tf.dispose([y, t.x, t.mask, t.filter, t.opts.bias, t.opts.norm?.gamma, t.opts.norm?.beta].filter(Boolean) as tf.Tensor[]);
    }
  });

  it('sparseConv2d equals the float64 reference on a map of over 32768 pixels (webgpu: the list in two passes, GN in three)', async () => {
    await activate(backend);
    const c: Case = { name: 'big', shape: [2, 129, 128, 4], k: 3, cout: 4, bias: true, norm: 2, relu: true };
    const d = makeCase(c, 0.3, 700);
    const want = reference(c, d, true);
    for (const method of ['auto', 'compact'] as const) {
      const t = tensors(c, d);
      const y = await sparseConv2d(t.x, t.mask, t.filter, { ...t.opts, method });
      const got = await y.data();
      expect(relL2(got, want), method).toBeLessThan(tol);
      let nonzeroOff = 0;
      for (let p = 0; p < d.mask.length; p++) if (d.mask[p] === 0) for (let o = 0; o < d.co; o++) if (!Object.is(got[p * d.co + o], 0)) nonzeroOff++;
      expect(nonzeroOff, `${method}: values off the mask that are not +0`).toBe(0);
      tf.dispose([y, t.x, t.mask, t.filter, t.opts.bias, t.opts.norm?.gamma, t.opts.norm?.beta].filter(Boolean) as tf.Tensor[]);
    }
  });

  it.each([CASES[1], CASES[6]])('sparseConv2d with dilateMask equals the float64 reference on the 3x3 max-pooled mask, every method: $name', async (c) => {
    await activate(backend);
    const [b, h, w] = c.shape;
    for (const [i, density] of [0.05, 0.3].entries()) for (const method of METHODS) {
      const d = makeCase(c, density, 500 + i);
      const t = tensors(c, d);
      const y = await sparseConv2d(t.x, t.mask, t.filter, { ...t.opts, method, dilateMask: true });
      const want = reference(c, { ...d, mask: Float32Array.from(refMaxPool3x3(d.mask, b, h, w)) }, true);
      expect(relL2(await y.data(), want), `density ${density}, ${method}`).toBeLessThan(tol);
      tf.dispose([y, t.x, t.mask, t.filter, t.opts.bias, t.opts.norm?.gamma, t.opts.norm?.beta].filter(Boolean) as tf.Tensor[]);
    }
  });

  it.each([CASES[1], CASES[3]])('sparseConv2d with gatedResidual equals ReLU(input + gate * reference), every method: $name', async (c) => {
    await activate(backend);
    for (const [i, density] of DENSITIES.entries()) for (const method of METHODS) {
      const d = makeCase(c, density, 300 + i);
      const t = tensors(c, d);
      const rand = seededRandom(400 + i);
      const input = Array.from({ length: d.mask.length * d.co }, () => rand(-1, 1));
      const gate = Array.from(d.mask, (m) => (m ? rand(0.05, 1) : 0));
      const [b, h, w] = c.shape;
      const inputT = tf.tensor4d(input, [b, h, w, d.co]);
      const gateT = tf.tensor4d(gate, [b, h, w, 1]);
      const y = await sparseConv2d(t.x, t.mask, t.filter, { ...t.opts, method, gatedResidual: { input: inputT, gate: gateT } });
      const ref = reference(c, d, true);
      const want = ref.map((v, k) => Math.max(0, input[k] + gate[Math.floor(k / d.co)] * v));
      expect(relL2(await y.data(), want), `density ${density}, ${method}`).toBeLessThan(tol);
      // and the 3x3 convs of that output to one channel (the next block's path gates)
      const filters = [0, 1].map(() => Array.from({ length: 9 * d.co }, () => rand(-0.5, 0.5)));
      const filterTs = filters.map((f) => tf.tensor4d(f, [3, 3, d.co, 1]));
      const both = await sparseConv2dWithConvs(t.x, t.mask, t.filter, { ...t.opts, method, gatedResidual: { input: inputT, gate: gateT } }, filterTs);
      expect(relL2(await both.output.data(), want), `density ${density}, ${method}, with convs`).toBeLessThan(tol);
      for (const [j, f] of filters.entries()) {
        const wantConv = refConv({ x: want, shape: [b, h, w, d.co], filter: f, k: 3, cout: 1 });
        expect(relL2(await both.convs[j].data(), wantConv), `density ${density}, ${method}, conv ${j}`).toBeLessThan(backend === 'webgpu' ? 1e-4 : tol);
      }
      tf.dispose([both.output, ...both.convs, ...filterTs]);
      tf.dispose([y, inputT, gateT, t.x, t.mask, t.filter, t.opts.bias, t.opts.norm?.gamma, t.opts.norm?.beta].filter(Boolean) as tf.Tensor[]);
    }
  });

  it.each(CASES.filter((c) => backend === 'cpu' || c === CASES[0] || c === CASES[1]))(
    'maskedConv2d equals the float64 reference (whole-map GN): $name',
    async (c) => {
      await activate(backend);
      const d = makeCase(c, 0.5, 7);
      const t = tensors(c, d);
      const y = maskedConv2d(t.x, t.mask, t.filter, t.opts);
      expect(relL2(await y.data(), reference(c, d, false))).toBeLessThan(tol);
      tf.dispose([y, t.x, t.mask, t.filter]);
    },
  );

  it.each([...CASES, ...PREDICTOR_CASES])('convLayer (the dense inference layer) equals the float64 reference (whole-map GN): $name', async (c) => {
    await activate(backend);
    const d = makeCase(c, 1, 21);
    const t = tensors(c, d);
    const y = convLayer(t.x, t.filter, t.opts);
    const want = reference(c, d, false);
    expect(relL2(await y.data(), want)).toBeLessThan(tol);
    // a gated path: times a per-pixel gate
    const rand = seededRandom(22);
    const gate = Array.from({ length: d.mask.length }, () => rand(0, 1));
    const gateT = tf.tensor4d(gate, [c.shape[0], c.shape[1], c.shape[2], 1]);
    const gated = convLayer(t.x, t.filter, t.opts, gateT);
    expect(relL2(await gated.data(), want.map((v, k) => v * gate[Math.floor(k / d.co)]))).toBeLessThan(tol);
    tf.dispose([y, gated, gateT, t.x, t.mask, t.filter, t.opts.bias, t.opts.norm?.gamma, t.opts.norm?.beta].filter(Boolean) as tf.Tensor[]);
  });

  // 4 groups of 2 channels run the JavaScript loop on wasm, 2 groups of 8 its SIMD loop
  it.each([
    { c: 8, groups: 4 },
    { c: 16, groups: 2 },
  ])('groupNormInference: statistics per image from its rows (an empty image, far-from-zero means), bias before, ReLU after: C=$c, $groups groups', async ({ c, groups }) => {
    await activate(backend);
    const rand = seededRandom(5);
    const counts = [5, 0, 12, 1];
    const rows = counts.reduce((a, b) => a + b, 0);
    // a large common offset: a one-pass float32 variance would lose every digit here
    const x = Array.from({ length: rows * c }, () => Math.fround(300 + rand(-1, 1)));
    const bias = Array.from({ length: c }, () => Math.fround(rand(-0.5, 0.5)));
    const gamma = Array.from({ length: c }, () => rand(0.5, 1.5));
    const beta = Array.from({ length: c }, () => rand(-0.5, 0.5));
    const want = new Float64Array(rows * c);
    let start = 0;
    for (const n of counts) {
      if (n > 0) {
        const seg = Float64Array.from(x.slice(start * c, (start + n) * c), (v, i) => v + bias[i % c]);
        const normed = refGroupNorm(seg, [1, n, 1, c], groups, gamma, beta);
        want.set(normed.map((v) => Math.max(0, v)), start * c);
      }
      start += n;
    }
    const [xt, bt, gt, et] = [tf.tensor2d(x, [rows, c]), tf.tensor1d(bias), tf.tensor1d(gamma), tf.tensor1d(beta)];
    const y = groupNormInference(xt, counts, { groups, gamma: gt, beta: et }, { bias: bt, relu: true });
    expect(y.shape).toEqual([rows, c]);
    const got = await y.data();
    expect(relL2(got, want)).toBeLessThan(1e-5);
    expect(Array.from(got).every((v) => !Object.is(v, -0))).toBe(true);
    expect(() => groupNormInference(xt, [5, 12], { groups, gamma: gt, beta: et })).toThrow(`counts [5,12] must sum to the 18 rows of x [18,${c}]`);
    // one factor per row after the ReLU (a gated path)
    const factors = Array.from({ length: rows }, () => rand(0, 2));
    const ft = tf.tensor1d(factors);
    const scaled = groupNormInference(xt, counts, { groups, gamma: gt, beta: et }, { bias: bt, relu: true, rowScale: ft });
    expect(relL2(await scaled.data(), want.map((v, k) => v * factors[Math.floor(k / c)]))).toBeLessThan(1e-5);
    expect(() => groupNormInference(xt, counts, { groups, gamma: gt, beta: et }, { rowScale: gt })).toThrow(`rowScale [${c}] must hold one factor per row of x [18,${c}]`);
    tf.dispose([y, scaled, ft, xt, bt, gt, et]);
  });

  it('conv2dFewOutputs (3x3 to a few channels, and the 1x1 fallback) equals the float64 reference conv', async () => {
    await activate(backend);
    for (const [shape, k, cout] of [
      [[2, 7, 9, 16], 3, 1],
      [[1, 5, 4, 8], 3, 4],
      [[2, 6, 5, 8], 1, 2],
    ] as [Shape4, number, number][]) {
      const rand = seededRandom(cout * 10 + k);
      const x = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand(-1, 1));
      const filter = Array.from({ length: k * k * shape[3] * cout }, () => rand(-0.5, 0.5));
      const [xt, ft] = [tf.tensor4d(x, shape), tf.tensor4d(filter, [k, k, shape[3], cout])];
      const y = conv2dFewOutputs(xt, ft);
      expect(y.shape).toEqual([shape[0], shape[1], shape[2], cout]);
      expect(relL2(await y.data(), refConv({ x, shape, filter, k, cout })), `k ${k}, cout ${cout}`).toBeLessThan(tol);
      tf.dispose([y, xt, ft]);
    }
  });

  it('conv2dFewOutputsEach (two gates on one input, and a 1x1 filter) equals the float64 reference conv per filter', async () => {
    await activate(backend);
    const rand = seededRandom(43);
    const shape: Shape4 = [2, 6, 7, 12];
    const x = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand(-1, 1));
    const xt = tf.tensor4d(x, shape);
    for (const ks of [[3, 3], [3, 1]]) {
      const filters = ks.map((k) => Array.from({ length: k * k * shape[3] }, () => rand(-0.5, 0.5)));
      const fts = filters.map((f, i) => tf.tensor4d(f, [ks[i], ks[i], shape[3], 1]));
      const ys = conv2dFewOutputsEach(xt, fts);
      expect(ys.length).toBe(2);
      for (const [i, y] of ys.entries()) {
        expect(y.shape).toEqual([2, 6, 7, 1]);
        expect(relL2(await y.data(), refConv({ x, shape, filter: filters[i], k: ks[i], cout: 1 })), `filter ${i} of ${ks}`).toBeLessThan(tol);
      }
      tf.dispose([...ys, ...fts]);
    }
    xt.dispose();
  });

  it('conv2dFewOutputs has the gradients of tf.conv2d', async () => {
    await activate(backend);
    const rand = seededRandom(41);
    const x = tf.tensor4d(Array.from({ length: 2 * 6 * 5 * 8 }, () => rand(-1, 1)), [2, 6, 5, 8]);
    const f = tf.tensor4d(Array.from({ length: 9 * 8 }, () => rand(-0.5, 0.5)), [3, 3, 8, 1]);
    const w = tf.tensor4d(Array.from({ length: 2 * 6 * 5 }, () => rand(-1, 1)), [2, 6, 5, 1]);
    const loss = (op: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D) => (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a as tf.Tensor4D, b as tf.Tensor4D), w));
    const got = tf.grads(loss(conv2dFewOutputs))([x, f]);
    const want = tf.grads(loss((a, b) => tf.conv2d(a, b, 1, 'same')))([x, f]);
    for (let i = 0; i < 2; i++) expect(relL2(await got[i].data(), await want[i].data()), i === 0 ? 'dx' : 'dfilter').toBeLessThan(tol);
    tf.dispose([x, f, w, ...got, ...want]);
  });

  it('sparseConv2d equals maskedConv2d at active pixels without norm', async () => {
    await activate(backend);
    const c: Case = { name: 'eq', shape: [3, 7, 5, 4], k: 3, cout: 5, bias: true, relu: true };
    const d = makeCase(c, 0.3, 3);
    const t = tensors(c, d);
    const a = await sparseConv2d(t.x, t.mask, t.filter, t.opts);
    const b = maskedConv2d(t.x, t.mask, t.filter, t.opts);
    expect(relL2(await a.data(), await b.data())).toBeLessThan(tol);
    tf.dispose([a, b, t.x, t.mask, t.filter]);
  });

  it('gateMask marks positive gates, and dilate max-pools 3x3', async () => {
    await activate(backend);
    // 1 x 4 x 5 gate with positives at (0,0) and (2,3), a negative elsewhere, zeros otherwise
    const g = new Float32Array(20);
    g[0] = 0.3;
    g[2 * 5 + 3] = 1e-6;
    g[7] = -2;
    const gate = tf.tensor4d(g, [1, 4, 5, 1]);
    const plain = await gateMask(gate).data();
    const want = new Float32Array(20);
    want[0] = 1;
    want[13] = 1;
    expect(Array.from(plain)).toEqual(Array.from(want));
    // a real float buffer: transposing it (a program that reads the raw buffer) keeps the values
    const tr = await tf.transpose(gateMask(gate), [0, 2, 1, 3]).data();
    expect(tr[0]).toBe(1);
    expect(tr[3 * 4 + 2]).toBe(1);
    expect(Array.from(tr).reduce((a, v) => a + v, 0)).toBe(2);
    const dil = await gateMask(gate, { dilate: true }).data();
    const wantDil = new Float32Array(20);
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 5; x++) {
        const near = (cy: number, cx: number) => Math.abs(y - cy) <= 1 && Math.abs(x - cx) <= 1;
        wantDil[y * 5 + x] = near(0, 0) || near(2, 3) ? 1 : 0;
      }
    expect(Array.from(dil)).toEqual(Array.from(wantDil));
  });

  it('does not leak tensors over repeated calls', async () => {
    await activate(backend);
    const c: Case = { name: 'leak', shape: [2, 5, 6, 4], k: 3, cout: 4, bias: true, norm: 2, relu: true };
    const d = makeCase(c, 0.4, 11);
    const t = tensors(c, d);
    const dwFilter = tf.tensor4d(d.filter.slice(0, 36), [3, 3, 4, 1]);
    const gateFilter = tf.tensor4d(d.filter.slice(0, 36), [3, 3, 4, 1]);
    const step = async () => {
      for (const method of ['kernel', 'compact', 'gather', 'dense'] as const) {
        tf.dispose(await sparseConv2d(t.x, t.mask, t.filter, { ...t.opts, method }));
        tf.dispose(await sparseConv2d(t.x, t.mask, dwFilter, { ...t.opts, method, depthwise: true }));
        tf.dispose(await sparseConv2d(t.x, t.mask, dwFilter, { ...t.opts, method, depthwise: true, gatedResidual: { input: t.x, gate: t.mask } }));
      }
      const y = await sparseConv2d(t.x, t.mask, t.filter, t.opts);
      const z = maskedConv2d(t.x, t.mask, t.filter, t.opts);
      const m = gateMask(t.mask, { dilate: true });
      const layer = convLayer(t.x, t.filter, t.opts);
      const gate = conv2dFewOutputs(t.x, gateFilter);
      tf.dispose([y, z, m, layer, gate]);
    };
    await step();
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await step();
    expect(tf.memory().numTensors).toBe(after1);
  });
});

// Where masks stay on the device, a depth node passes its gate as conv2's mask (active where > 0);
// the compacted conv's GN epilogue then writes the gated residual itself.
describe.each(TEST_BACKENDS.filter((b) => b === 'webgpu'))('the gate as its own mask on %s', (backend) => {
  it.each([
    CASES[1],
    { name: 'conv3x3 + GN, 48x50 (three-pass GN)', shape: [1, 48, 50, 8], k: 3, cout: 8, norm: 2 },
    CASES[6], // with a bias: more buffers than one program binds, so the residual is a dispatch of its own
  ] as Case[])('sparseConv2d with gatedResidual equals ReLU(input + gate * reference): $name', async (c) => {
    await activate(backend);
    for (const [i, density] of [0.01, 0.5, 1].entries()) for (const method of ['auto', 'compact'] as const) {
      const d = makeCase(c, density, 800 + i);
      const t = tensors(c, d);
      const rand = seededRandom(900 + i);
      const input = Array.from({ length: d.mask.length * d.co }, () => rand(-1, 1));
      const gate = Array.from(d.mask, (m) => (m ? rand(0.05, 1) : 0));
      const [b, h, w] = c.shape;
      const inputT = tf.tensor4d(input, [b, h, w, d.co]);
      const gateT = tf.tensor4d(gate, [b, h, w, 1]);
      const y = await sparseConv2d(t.x, gateT, t.filter, { ...t.opts, method, gatedResidual: { input: inputT, gate: gateT } });
      const want = reference(c, d, true).map((v, k) => Math.max(0, input[k] + gate[Math.floor(k / d.co)] * v));
      expect(relL2(await y.data(), want), `density ${density}, ${method}`).toBeLessThan(1e-4);
      tf.dispose([y, inputT, gateT, t.x, t.mask, t.filter, t.opts.bias, t.opts.norm?.gamma, t.opts.norm?.beta].filter(Boolean) as tf.Tensor[]);
    }
  });
});

describe('bad input', () => {
  it('names the argument and shapes at fault', async () => {
    await activate('cpu');
    const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    const m = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    const f = tf.zeros([3, 3, 2, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    await expect(sparseConv2d(x, tf.zeros([1, 5, 4, 1]) as tf.Tensor4D, f)).rejects.toThrow(/mask shape \[1,5,4,1\] does not match x shape \[1,4,4,2\]/);
    expect(() => maskedConv2d(tf.zeros([4, 4, 2]) as unknown as tf.Tensor4D, m, f)).toThrow(/x must be rank 4.*\[4,4,2\]/);
    await expect(sparseConv2d(x, tf.zeros([1, 4, 4]) as unknown as tf.Tensor4D, f)).rejects.toThrow(/mask must be rank 4 \[B,H,W,1\], got shape \[1,4,4\]/);
    await expect(sparseConv2d(x, m, tf.zeros([2, 2, 2, 3]) as tf.Tensor4D)).rejects.toThrow(/odd kernel size.*\[2,2,2,3\]/);
    await expect(sparseConv2d(x, m, tf.zeros([3, 3, 5, 3]) as tf.Tensor4D)).rejects.toThrow(/filter shape \[3,3,5,3\] expects 5 input channels but x shape \[1,4,4,2\] has 2/);
    await expect(sparseConv2d(x, m, f, { strides: 2 })).rejects.toThrow(/strides must be 1, got 2/);
    await expect(sparseConv2d(x, m, f, { depthwise: true })).rejects.toThrow(/depthwise filter must be \[kh,kw,C,1\]/);
    await expect(sparseConv2d(x, tf.fill([1, 4, 4, 1], 0.5) as tf.Tensor4D, f)).rejects.toThrow(/mask must hold only 0 and 1.*0\.5 at \[0,0,0,0\]/);
    const gamma = tf.ones([4]) as tf.Tensor1D;
    await expect(sparseConv2d(x, m, f, { norm: { groups: 2, gamma, beta: gamma } })).rejects.toThrow(/norm.groups must divide the 3 output channels/);
    expect(() => gateMask(x)).toThrow(/gate must be rank 4 \[B,H,W,1\], got shape \[1,4,4,2\]/);
    await expect(sparseConv2d(x, m, f, { gatedResidual: { input: x, gate: m } })).rejects.toThrow(/gatedResidual.input must be \[1,4,4,3\], got shape \[1,4,4,2\]/);
    expect(() => convLayer(x, f, {}, x)).toThrow(/convLayer: gate must be \[1,4,4,1\], got shape \[1,4,4,2\]/);
    tf.dispose([x, m, f, gamma]);
    // the rejected calls allocated only the throwaway arguments above, nothing inside
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 8);
  });
});
