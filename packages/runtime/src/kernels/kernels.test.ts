import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../../test/backends';
import {
  type ConvCase,
  conv2dFilterGradRef,
  conv2dInputGradRef,
  conv2dRef,
  depthwiseRef,
  depthwiseFilterGradRef,
  depthwiseInputGradRef,
  outShape,
} from './conv-reference';
import { conv2dBackpropFilterComposed, conv2dBackpropFilterMatMul } from './conv2d-backprop-filter';
import { conv2dBackpropInputComposed } from './conv2d-backprop-input';
import type { KernelArgs } from './kernel-call';
import { MOMENTUM_SGD } from './momentum-sgd';
import { SUM_OF_SQUARES } from './sum-of-squares';

// The kernels registered by registerKernelFixes run on cpu (Conv2DBackpropFilter) and wasm (all; both
// forms of Conv2DBackpropFilter, which wasm picks between by size, are also called directly below);
// each is checked against a float64 loop written from the definition, never against itself.
const BACKENDS = ['cpu', 'wasm'] as const;

const conv2dCases: ConvCase[] = [
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 4], stride: 1, pad: 'valid' },
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 4], stride: 2, pad: 'same' },
  { x: [1, 9, 8, 5], filter: [3, 3, 5, 2], stride: 2, pad: 'valid' },
  // tfjs sizes numeric pads from the filter HEIGHT on both axes, so that case uses a square filter.
  { x: [1, 10, 8, 2], filter: [5, 5, 2, 3], stride: 2, pad: 1 },
  { x: [3, 5, 5, 4], filter: [1, 1, 4, 6], stride: 1, pad: 'same' },
  { x: [1, 6, 7, 3], filter: [2, 2, 3, 2], stride: 1, pad: 'same' },
];

const depthwiseCases: ConvCase[] = [
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 1], stride: 1, pad: 'same' },
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 1], stride: 2, pad: 'same' },
  { x: [1, 9, 8, 4], filter: [3, 3, 4, 1], stride: 2, pad: 'valid' },
  { x: [1, 8, 7, 2], filter: [3, 3, 2, 3], stride: 1, pad: 'valid' },
  { x: [1, 9, 9, 2], filter: [3, 3, 2, 2], stride: 1, pad: 'same', dilation: 2 },
  // multiplier 1 with interior pixels at dilation 2 (the cpu kernel's unrolled 3x3 path)
  { x: [1, 9, 10, 5], filter: [3, 3, 5, 1], stride: 1, pad: 'same', dilation: 2 },
];

function random(shape: number[], seed: number): Float32Array {
  const rand = seededRandom(seed);
  const n = shape.reduce((p, d) => p * d, 1);
  return Float32Array.from({ length: n }, () => rand(-1, 1));
}

function label(c: ConvCase): string {
  return `x [${c.x}] filter [${c.filter}] stride ${c.stride} pad ${c.pad}${c.dilation ? ` dilation ${c.dilation}` : ''}`;
}

describe.each(BACKENDS)('training kernels on %s', (backend) => {
  // 'registered': the kernel tfjs runs (on wasm it picks a form by size; the last case is big
  // enough for the matrix-product form); 'conv', 'matmul': the two forms called directly.
  const filterGradCases = [
    ...conv2dCases.flatMap((c) => (['registered', 'conv', 'matmul'] as const).map((form) => ({ ...c, form }))),
    { x: [1, 40, 40, 64], filter: [3, 3, 64, 64], stride: 1, pad: 'same', form: 'registered' } as ConvCase & { form: 'registered' },
  ];
  it.each(filterGradCases)('Conv2DBackpropFilter ($form) equals the float64 sum: x $x, filter $filter, stride $stride, pad $pad', async ({ form, ...c }) => {
    await activate(backend);
    const dyShape = outShape(c, c.filter[3]);
    const xv = random(c.x, 1);
    const dyv = random(dyShape, 2);
    const x = tf.tensor4d(xv, c.x as [number, number, number, number]);
    const dy = tf.tensor4d(dyv, dyShape as [number, number, number, number]);
    const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter };
    const dW =
      form === 'registered'
        ? (tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs) as tf.Tensor)
        : tf.engine().makeTensorFromTensorInfo(
            (form === 'conv' ? conv2dBackpropFilterComposed : conv2dBackpropFilterMatMul)({ inputs: { x, dy }, backend: tf.backend(), attrs } as KernelArgs, backend),
          );
    expect(dW.shape, label(c)).toEqual(c.filter);
    expect(relL2(await dW.data(), conv2dFilterGradRef(c, xv, dyv)), label(c)).toBeLessThan(1e-5);
    tf.dispose([x, dy, dW]);
  });

  it.each(conv2dCases)('Conv2DBackpropInput equals the float64 sum: %o', async (c) => {
    await activate(backend);
    const dyShape = outShape(c, c.filter[3]);
    const fv = random(c.filter, 3);
    const dyv = random(dyShape, 4);
    const filter = tf.tensor4d(fv, c.filter as [number, number, number, number]);
    const dy = tf.tensor4d(dyv, dyShape as [number, number, number, number]);
    const dx = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x }) as tf.Tensor;
    expect(dx.shape, label(c)).toEqual(c.x);
    expect(relL2(await dx.data(), conv2dInputGradRef(c, fv, dyv)), label(c)).toBeLessThan(1e-5);
    tf.dispose([filter, dy, dx]);
  });

  it.each(conv2dCases)('the composed Conv2DBackpropInput (zero insertion) equals the float64 sum at any stride: %o', async (c) => {
    await activate(backend);
    const dyShape = outShape(c, c.filter[3]);
    const fv = random(c.filter, 3);
    const dyv = random(dyShape, 4);
    const filter = tf.tensor4d(fv, c.filter as [number, number, number, number]);
    const dy = tf.tensor4d(dyv, dyShape as [number, number, number, number]);
    const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x };
    const info = conv2dBackpropInputComposed({ inputs: { dy, filter }, backend: tf.backend(), attrs } as KernelArgs, backend);
    const dx = tf.engine().makeTensorFromTensorInfo(info);
    expect(dx.shape, label(c)).toEqual(c.x);
    expect(relL2(await dx.data(), conv2dInputGradRef(c, fv, dyv)), label(c)).toBeLessThan(1e-5);
    tf.dispose([filter, dy, dx]);
  });

  it.each(depthwiseCases)('DepthwiseConv2dNativeBackpropFilter equals the float64 sum: %o', async (c) => {
    await activate(backend);
    const dyShape = outShape(c, c.filter[2] * c.filter[3]);
    const xv = random(c.x, 5);
    const dyv = random(dyShape, 6);
    const x = tf.tensor4d(xv, c.x as [number, number, number, number]);
    const dy = tf.tensor4d(dyv, dyShape as [number, number, number, number]);
    const attrs = { strides: c.stride, dilations: c.dilation ?? 1, pad: c.pad, filterShape: c.filter };
    const dW = tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, attrs) as tf.Tensor;
    expect(dW.shape).toEqual(c.filter);
    expect(relL2(await dW.data(), depthwiseFilterGradRef(c, xv, dyv)), label(c)).toBeLessThan(1e-5);
    tf.dispose([x, dy, dW]);
  });

  it.each(depthwiseCases)('DepthwiseConv2dNativeBackpropInput equals the float64 sum: %o', async (c) => {
    await activate(backend);
    const dyShape = outShape(c, c.filter[2] * c.filter[3]);
    const fv = random(c.filter, 7);
    const dyv = random(dyShape, 8);
    const filter = tf.tensor4d(fv, c.filter as [number, number, number, number]);
    const dy = tf.tensor4d(dyv, dyShape as [number, number, number, number]);
    const attrs = { strides: c.stride, dilations: c.dilation ?? 1, pad: c.pad, inputShape: c.x };
    const dx = tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter }, attrs) as tf.Tensor;
    expect(dx.shape).toEqual(c.x);
    expect(relL2(await dx.data(), depthwiseInputGradRef(c, fv, dyv)), label(c)).toBeLessThan(1e-5);
    tf.dispose([filter, dy, dx]);
  });

  it.each([
    { from: [4, 3], to: [8, 6], alignCorners: false, halfPixelCenters: false },
    { from: [3, 5], to: [7, 4], alignCorners: false, halfPixelCenters: false },
    { from: [4, 4], to: [7, 9], alignCorners: true, halfPixelCenters: false },
    { from: [5, 3], to: [8, 7], alignCorners: false, halfPixelCenters: true },
  ])('the gradient of resizeNearestNeighbor sums dy into each source pixel, every image of a batch: %o', async (c) => {
    await activate(backend);
    const [b, ch] = [3, 4];
    const [h, w] = c.from;
    const [oh, ow] = c.to;
    const x = tf.tensor4d(random([b, h, w, ch], 5), [b, h, w, ch]);
    const dyv = random([b, oh, ow, ch], 6);
    const dy = tf.tensor4d(dyv, [b, oh, ow, ch]);
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [oh, ow], c.alignCorners, c.halfPixelCenters), dy)))(x);
    // the reference: the forward pass's source pixel of every output pixel, from the definition
    const pick = (i: number, inSize: number, outSize: number) => {
      const corners = c.alignCorners && outSize > 1;
      const ratio = (corners ? inSize - 1 : inSize) / (corners ? outSize - 1 : outSize);
      const frac = c.halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
      return Math.max(0, Math.min(inSize - 1, c.alignCorners ? Math.round(frac) : Math.floor(frac)));
    };
    const want = new Float64Array(b * h * w * ch);
    for (let n = 0; n < b; n++)
      for (let r = 0; r < oh; r++)
        for (let q = 0; q < ow; q++)
          for (let d = 0; d < ch; d++) want[((n * h + pick(r, h, oh)) * w + pick(q, w, ow)) * ch + d] += dyv[((n * oh + r) * ow + q) * ch + d];
    expect(relL2(await grad.data(), want)).toBeLessThan(1e-6);
    tf.dispose([x, dy, grad]);
  });

  it.each([
    { x: [2, 9, 12, 5], size: 3, stride: 2, pad: 1 as const },
    { x: [1, 8, 7, 3], size: 2, stride: 2, pad: 'valid' as const },
    { x: [2, 6, 7, 4], size: 3, stride: 1, pad: 'same' as const },
  ])('the gradient of maxPool sends dy to the first maximum of each window, ties included: %o', async (c) => {
    await activate(backend);
    const [b, h, w, ch] = c.x;
    // values from {0, 1, 2}: most windows hold tied maxima (a ReLU's zeros, as in the ResNet stem)
    const rand = seededRandom(11);
    const xv = Float32Array.from({ length: b * h * w * ch }, () => Math.floor(rand(0, 3)));
    const x = tf.tensor4d(xv, c.x as [number, number, number, number]);
    const pooled = tf.maxPool(x, c.size, c.stride, c.pad);
    const [, oh, ow] = pooled.shape;
    const dyv = random([b, oh, ow, ch], 12);
    const dy = tf.tensor4d(dyv, [b, oh, ow, ch]);
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, c.size, c.stride, c.pad), dy)))(x);
    // the reference: torch's rule, the first maximum in scan order among the window's pixels inside the map
    const total = (n: number, k: number) => (c.pad === 'same' ? Math.max((n - 1) * c.stride + c.size - k, 0) : 0);
    const top = c.pad === 1 ? 1 : Math.floor(total(oh, h) / 2);
    const left = c.pad === 1 ? 1 : Math.floor(total(ow, w) / 2);
    const want = new Float64Array(xv.length);
    for (let n = 0; n < b; n++)
      for (let r = 0; r < oh; r++)
        for (let q = 0; q < ow; q++)
          for (let d = 0; d < ch; d++) {
            let at = -1;
            for (let u = r * c.stride - top; u < r * c.stride - top + c.size; u++)
              for (let v = q * c.stride - left; v < q * c.stride - left + c.size; v++) {
                if (u < 0 || u >= h || v < 0 || v >= w) continue;
                const i = ((n * h + u) * w + v) * ch + d;
                if (at < 0 || xv[i] > xv[at]) at = i;
              }
            want[at] += dyv[((n * oh + r) * ow + q) * ch + d];
          }
    expect(relL2(await grad.data(), want)).toBeLessThan(1e-6);
    tf.dispose([x, pooled, dy, grad]);
  });

  it('UnsortedSegmentSum adds rows per segment and drops ids outside [0, numSegments)', async () => {
    await activate(backend);
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5, 2]);
    const ids = tf.tensor1d([2, 0, 2, -1, 7], 'int32');
    const out = tf.unsortedSegmentSum(x, ids, 4);
    expect(out.shape).toEqual([4, 2]);
    expect(Array.from(await out.data())).toEqual([3, 4, 0, 0, 6, 8, 0, 0]);
    const xi = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2], 'int32');
    const ids2 = tf.tensor1d([1, 0, 1, 1], 'int32');
    const out2 = tf.unsortedSegmentSum(xi, ids2, 2);
    expect(Array.from(await out2.data())).toEqual([3, 4, 1 + 5 + 7, 2 + 6 + 8]);
    tf.dispose([x, ids, out, xi, ids2, out2]);
  });

  it('the gradient of gather (UnsortedSegmentSum) counts repeated indices', async () => {
    await activate(backend);
    const table = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const idx = tf.tensor1d([2, 0, 2, 2], 'int32');
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), tf.tensor2d([1, 1, 1, 1, 1, 1, 1, 1], [4, 2]))))(table);
    expect(Array.from(await g.data())).toEqual([1, 1, 0, 0, 3, 3]);
    tf.dispose([table, idx, g]);
  });

  it('conv2d and depthwise gradients through tf.grads match the float64 references', async () => {
    await activate(backend);
    const c: ConvCase = { x: [1, 6, 5, 2], filter: [3, 3, 2, 3], stride: 2, pad: 'same' };
    const xv = random(c.x, 9);
    const fv = random(c.filter, 10);
    const x = tf.tensor4d(xv, [1, 6, 5, 2]);
    const f = tf.tensor4d(fv, [3, 3, 2, 3]);
    // loss = sum(conv(x, f)) so dy = 1 everywhere.
    const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))([x, f]);
    const ones = new Float64Array(outShape(c, 3).reduce((p, d) => p * d, 1)).fill(1);
    expect(relL2(await df.data(), conv2dFilterGradRef(c, xv, ones))).toBeLessThan(1e-5);
    expect(relL2(await dx.data(), conv2dInputGradRef(c, fv, ones))).toBeLessThan(1e-5);
    const dwc: ConvCase = { x: [1, 6, 5, 2], filter: [3, 3, 2, 1], stride: 1, pad: 'same' };
    const dwf = tf.tensor4d(random(dwc.filter, 11), [3, 3, 2, 1]);
    const [ddx, ddf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')))([x, dwf]);
    const ones2 = new Float64Array(outShape(dwc, 2).reduce((p, d) => p * d, 1)).fill(1);
    expect(relL2(await ddf.data(), depthwiseFilterGradRef(dwc, xv, ones2))).toBeLessThan(1e-5);
    expect(relL2(await ddx.data(), depthwiseInputGradRef(dwc, await dwf.data(), ones2))).toBeLessThan(1e-5);
    tf.dispose([x, f, dx, df, dwf, ddx, ddf]);
  });

  it('leaves no tensors or backend buffers behind', async () => {
    await activate(backend);
    const x = tf.tensor4d(random([1, 7, 7, 3], 12), [1, 7, 7, 3]);
    const f = tf.tensor4d(random([3, 3, 3, 4], 13), [3, 3, 3, 4]);
    const dwf = tf.tensor4d(random([3, 3, 3, 1], 14), [3, 3, 3, 1]);
    const table = tf.tensor2d(random([5, 3], 15), [5, 3]);
    const idx = tf.tensor1d([4, 0, 4], 'int32');
    const step = async () => {
      const gs = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor, t: tf.Tensor) =>
        tf.add(
          tf.add(tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')), tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid'))),
          tf.add(tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, d as tf.Tensor4D, 1, 'same')), tf.sum(tf.gather(t, idx))),
        ),
      )([x, f, dwf, table]);
      await Promise.all(gs.map((g) => g.data()));
      tf.dispose(gs);
    };
    await step();
    const tensors = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();
    for (let i = 0; i < 5; i++) await step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.backend().numDataIds()).toBe(buffers);
    tf.dispose([x, f, dwf, table, idx]);
  });
});

describe('Conv2D and FusedConv2D on cpu', () => {
  const cases: ConvCase[] = [...conv2dCases, { x: [2, 9, 8, 3], filter: [3, 3, 3, 5], stride: 1, pad: 'same', dilation: 2 }, { x: [1, 6, 5, 70], filter: [3, 3, 70, 9], stride: 1, pad: 'same' },
    // one output channel (a spatial gate's conv) takes the dot-product path
    { x: [2, 7, 9, 16], filter: [3, 3, 16, 1], stride: 1, pad: 'same' },
    { x: [1, 9, 8, 5], filter: [3, 3, 5, 1], stride: 2, pad: 'valid', dilation: 1 },
    { x: [2, 9, 8, 3], filter: [3, 3, 3, 1], stride: 1, pad: 'same', dilation: 2 },
  ];

  it.each(cases)('every output is the exact sum rounded once to float32: %o', async (c) => {
    await activate('cpu');
    const xv = random(c.x, 21).map((v) => (v < -0.5 ? 0 : v)); // zeros, as after a ReLU
    const fv = random(c.filter, 22);
    const x = tf.tensor4d(xv, c.x as [number, number, number, number]);
    const f = tf.tensor4d(fv, c.filter as [number, number, number, number]);
    const y = tf.conv2d(x, f, c.stride, c.pad, 'NHWC', c.dilation ?? 1);
    const want = Float32Array.from(conv2dRef(c, xv, fv));
    expect(y.shape, label(c)).toEqual(outShape(c, c.filter[3]));
    expect(Array.from(await y.data()), label(c)).toEqual(Array.from(want));
    tf.dispose([x, f, y]);
  });

  it.each(depthwiseCases)('the depthwise conv: every output is the exact sum rounded once: %o', async (c) => {
    await activate('cpu');
    const xv = random(c.x, 26);
    const fv = random(c.filter, 27);
    const x = tf.tensor4d(xv, c.x as [number, number, number, number]);
    const f = tf.tensor4d(fv, c.filter as [number, number, number, number]);
    const y = tf.depthwiseConv2d(x, f, c.stride, c.pad, 'NHWC', c.dilation ?? 1);
    expect(y.shape, label(c)).toEqual(outShape(c, c.filter[2] * c.filter[3]));
    expect(Array.from(await y.data()), label(c)).toEqual(Array.from(Float32Array.from(depthwiseRef(c, xv, fv))));
    tf.dispose([x, f, y]);
  });

  it.each([
    { activation: 'relu', bias: 'channel', cout: 5 },
    { activation: 'linear', bias: 'channel', cout: 5 },
    { activation: 'relu', bias: 'broadcast', cout: 5 },
    { activation: 'leakyrelu', bias: 'channel', cout: 5 },
    { activation: 'sigmoid', bias: 'none', cout: 5 },
    { activation: 'relu', bias: 'channel', cout: 1 },
    { activation: 'linear', bias: 'channel', cout: 1 },
  ] as const)('the fused conv adds the bias and applies the activation: %o', async ({ activation, bias, cout }) => {
    await activate('cpu');
    const c: ConvCase = { x: [2, 7, 6, 4], filter: [3, 3, 4, cout], stride: 1, pad: 'same' };
    const xv = random(c.x, 23);
    const fv = random(c.filter, 24);
    const bv = random([cout], 25);
    const x = tf.tensor4d(xv, c.x as [number, number, number, number]);
    const f = tf.tensor4d(fv, c.filter as [number, number, number, number]);
    const b = bias === 'none' ? undefined : bias === 'channel' ? tf.tensor1d(bv) : tf.tensor4d(bv, [1, 1, 1, cout]);
    const y = tf.fused.conv2d({ x, filter: f, strides: 1, pad: 'same', bias: b, activation, leakyreluAlpha: 0.1 });
    const act = (v: number) =>
      activation === 'relu' ? Math.max(0, v) : activation === 'leakyrelu' ? (v < 0 ? 0.1 * v : v) : activation === 'sigmoid' ? 1 / (1 + Math.exp(-v)) : v;
    const want = Array.from(conv2dRef(c, xv, fv), (v, i) => act(v + (b ? bv[i % cout] : 0)));
    expect(relL2(await y.data(), want)).toBeLessThan(1e-6);
    tf.dispose([x, f, y, ...(b ? [b] : [])]);
  });
});

describe('binary ops with broadcasting on cpu', () => {
  // Reference: every output coordinate maps to each operand's coordinate (1-sized axes read index 0).
  function reference(op: string, a: Float32Array, as: number[], b: Float32Array, bs: number[], out: number[]): Float32Array {
    const size = out.reduce((p, d) => p * d, 1);
    const index = (shape: number[], coords: number[]) => {
      const padded = [...new Array(out.length - shape.length).fill(1), ...shape];
      return padded.reduce((acc, d, i) => acc * d + (d === 1 ? 0 : coords[i]), 0);
    };
    const fns: Record<string, (x: number, y: number) => number> = { add: (x, y) => x + y, sub: (x, y) => x - y, mul: (x, y) => x * y, div: (x, y) => x / y };
    return Float32Array.from({ length: size }, (_, flat) => {
      const coords = out.map(() => 0);
      for (let d = out.length - 1, rest = flat; d >= 0; d--) {
        coords[d] = rest % out[d];
        rest = Math.floor(rest / out[d]);
      }
      return fns[op](a[index(as, coords)], b[index(bs, coords)]);
    });
  }

  it.each([
    { a: [2, 5, 6, 8], b: [2, 5, 6, 8], out: [2, 5, 6, 8] },
    { a: [2, 5, 6, 8], b: [], out: [2, 5, 6, 8] },
    { a: [2, 5, 6, 8], b: [1], out: [2, 5, 6, 8] },
    { a: [2, 5, 6, 8], b: [8], out: [2, 5, 6, 8] },
    { a: [2, 5, 6, 8], b: [2, 5, 6, 1], out: [2, 5, 6, 8] },
    { a: [2, 5, 1, 8], b: [1, 1, 6, 1], out: [2, 5, 6, 8] },
    { a: [1], b: [3, 4], out: [3, 4] },
    { a: [3, 1, 4], b: [1, 5, 1], out: [3, 5, 4] },
    { a: [2, 3, 1, 4, 5], b: [3, 7, 1, 1], out: [2, 3, 7, 4, 5] },
    { a: [], b: [], out: [] },
    { a: [0, 3], b: [3], out: [0, 3] },
  ])('add, sub, mul and div equal the float64 result rounded once: a %o', async ({ a: as, b: bs, out }) => {
    await activate('cpu');
    const av = random(as.length ? as : [1], 31).map((v) => (v === 0 ? 0.5 : v));
    const bv = random(bs.length ? bs : [1], 32).map((v) => (v === 0 ? 0.25 : v));
    const a = tf.tensor(av.subarray(0, as.reduce((p, d) => p * d, 1)), as);
    const b = tf.tensor(bv.subarray(0, bs.reduce((p, d) => p * d, 1)), bs);
    for (const op of ['add', 'sub', 'mul', 'div'] as const) {
      const y = tf[op](a, b);
      expect(y.shape, `${op} [${as}] [${bs}]`).toEqual(out);
      expect(Array.from(await y.data()), `${op} [${as}] [${bs}]`).toEqual(Array.from(reference(op, await a.data() as Float32Array, as, await b.data() as Float32Array, bs, out)));
      y.dispose();
    }
    tf.dispose([a, b]);
  });

  it('leaves int32 arithmetic to the built-in kernel and names incompatible shapes', async () => {
    await activate('cpu');
    const i = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    const sum = tf.add(i, tf.scalar(3, 'int32'));
    expect(sum.dtype).toBe('int32');
    expect(Array.from(await sum.data())).toEqual([4, 5, 6, 7]);
    const a = tf.zeros([2, 3]);
    const b = tf.zeros([4]);
    expect(() => tf.mul(a, b)).toThrow(/2,3.*4|broadcast/);
    tf.dispose([i, sum, a, b]);
  });
});

describe('UnsortedSegmentSum errors', () => {
  it('names the shapes when segmentIds is not a prefix of x', async () => {
    await activate('wasm');
    const x = tf.zeros([3, 2]);
    const ids = tf.tensor1d([0, 1], 'int32');
    expect(() => tf.engine().runKernel(tf.UnsortedSegmentSum, { x, segmentIds: ids }, { numSegments: 2 })).toThrow(
      'UnsortedSegmentSum: segmentIds shape [2] must be a prefix of x shape [3,2]',
    );
    tf.dispose([x, ids]);
  });
});

describe('DynheadMomentumSgd errors', () => {
  // the host loop (cpu and wasm share it) and the WGSL form
  it.each(TEST_BACKENDS.filter((b) => b !== 'wasm'))('names the input and both shapes when a gradient does not match its parameter (%s)', async (backend) => {
    await activate(backend);
    const [param, grad] = [tf.zeros([3, 2]), tf.zeros([2, 3])];
    expect(() => tf.engine().runKernel(MOMENTUM_SGD, { param, grad }, { lr: 0.1, momentum: 0.9, weightDecay: 0, gradScale: 1 })).toThrow(
      'DynheadMomentumSgd: grad [2,3] must have param\'s shape [3,2]',
    );
    tf.dispose([param, grad]);
  });
});

describe.each(TEST_BACKENDS.filter((b) => b === 'webgpu'))('DynheadSumOfSquares on %s', (backend) => {
  it('adds the squares of every value of 1 to 7 tensors of any size, as the float64 sum', async () => {
    await activate(backend);
    const shapes = [[1], [3], [256], [257], [3, 3, 4, 5], [1000], [5000]];
    const values = shapes.map((s, j) => random(s, 40 + j));
    const tensors = shapes.map((s, j) => tf.tensor(values[j], s));
    for (const count of [1, 4, 7]) {
      const inputs = Object.fromEntries(tensors.slice(0, count).map((t, j) => [`x${j}`, t]));
      const got = tf.engine().runKernel(SUM_OF_SQUARES, inputs) as tf.Tensor;
      const want = values.slice(0, count).reduce((s, v) => s + v.reduce((a, x) => a + x * x, 0), 0);
      expect(got.shape).toEqual([1, 1]);
      expect(Math.abs((await got.data())[0] - want) / want, `${count} tensors`).toBeLessThan(1e-6);
      got.dispose();
    }
    const eight = Object.fromEntries([...tensors, tensors[0]].map((t, j) => [`x${j}`, t]));
    expect(() => tf.engine().runKernel(SUM_OF_SQUARES, eight)).toThrow('DynheadSumOfSquares: takes inputs x0 .. x6 in order, got x0, x1, x2, x3, x4, x5, x6, x7');
    tf.dispose(tensors);
  });
});
