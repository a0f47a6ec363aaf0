#!/usr/bin/env node
// Times dynhead's training kernels against the backends' built-in ones (where one exists).
// Run from the repo root after `cd packages/runtime && npx tsup`:
//   node packages/runtime/bench/training-kernels.mjs [--backends wasm,cpu,webgpu] [--json out.json]
// webgpu (SwiftShader without a GPU) compares its built-in Conv2DBackpropFilter with the composed one.
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

// The built-ins, captured before useBackend replaces them.
const builtin = {
  cpu: { Conv2DBackpropFilter: tf.getKernel('Conv2DBackpropFilter', 'cpu'), Conv2D: tf.getKernel('Conv2D', 'cpu'), Conv2DBackpropInput: tf.getKernel('Conv2DBackpropInput', 'cpu'), DepthwiseConv2dNative: tf.getKernel('DepthwiseConv2dNative', 'cpu'), MaxPoolGrad: tf.getKernel('MaxPoolGrad', 'cpu') },
  wasm: { Conv2DBackpropInput: tf.getKernel('Conv2DBackpropInput', 'wasm'), MaxPoolGrad: tf.getKernel('MaxPoolGrad', 'wasm') },
};
const { useBackend, conv2dBackpropFilterComposed, conv2dBackpropFilterMatMul } = await import('../dist/index.js');
const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const backends = arg('--backends', 'wasm,cpu').split(',');

function time(fn, reps) {
  fn(); // warm-up (XNNPACK operator creation, JIT)
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t0) / reps;
}

/** Runs a kernel function on raw TensorInfos and frees its output (what the engine would do). */
function runRaw(config, inputs, attrs) {
  const backend = tf.backend();
  const out = config.kernelFunc({ inputs, backend, attrs });
  backend.disposeData(out.dataId);
}
function runEngine(name, inputs, attrs) {
  tf.dispose(tf.engine().runKernel(name, inputs, attrs));
}

const rows = [];
function record(backend, op, shape, ms, gmac) {
  rows.push({ backend, op, shape, ms: +ms.toFixed(2), gflops: +((2 * gmac) / (ms / 1000)).toFixed(2) });
}

const cases = [
  { x: [1, 16, 16, 64], k: 3, cout: 64, stride: 1 },
  { x: [1, 32, 32, 128], k: 3, cout: 128, stride: 1 },
  { x: [1, 32, 32, 128], k: 3, cout: 128, stride: 2 },
  { x: [2, 64, 64, 64], k: 3, cout: 64, stride: 1 },
  // examples/train-bccd's model (batch 2, 192x256): its ResNet's last stage and an FPN lateral
  { x: [2, 6, 8, 128], k: 3, cout: 128, stride: 1 },
  { x: [2, 24, 32, 64], k: 1, cout: 32, stride: 1 },
];
async function timeAsync(fn, reps) {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await fn();
  return (performance.now() - t0) / reps;
}

if (backends.includes('webgpu')) {
  await useBackend('webgpu');
  for (const [xs, s] of [[[1, 16, 16, 64], 1], [[1, 32, 32, 64], 1], [[1, 32, 32, 64], 2]]) {
    const x = tf.randomUniform(xs);
    const ho = Math.ceil(xs[1] / s);
    const dy = tf.randomUniform([xs[0], ho, ho, 64]);
    const attrs = { strides: s, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, xs[3], 64] };
    const gmac = (ho * ho * 9 * xs[3] * 64) / 1e9;
    const shape = `x[${xs}] f[3,3,${xs[3]},64] s${s}`;
    const read = async (t) => {
      await t.data();
      t.dispose();
    };
    record('webgpu', 'Conv2DBackpropFilter built-in', shape, await timeAsync(() => read(tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs)), 1), gmac);
    const composed = () => tf.engine().makeTensorFromTensorInfo(conv2dBackpropFilterComposed({ inputs: { x, dy }, backend: tf.backend(), attrs }, 'webgpu'));
    record('webgpu', 'Conv2DBackpropFilter composed', shape, await timeAsync(() => read(composed()), 1), gmac);
    tf.dispose([x, dy]);
  }
}

for (const name of backends.filter((b) => b !== 'webgpu')) {
  await useBackend(name);
  for (const c of cases) {
    const [n, h, w, cin] = c.x;
    const ho = Math.ceil(h / c.stride);
    const wo = Math.ceil(w / c.stride);
    const x = tf.randomUniform(c.x);
    const f = tf.randomUniform([c.k, c.k, cin, c.cout]);
    const dy = tf.randomUniform([n, ho, wo, c.cout]);
    const gmac = (n * ho * wo * c.k * c.k * cin * c.cout) / 1e9;
    const shape = `x[${c.x}] f[${c.k},${c.k},${cin},${c.cout}] s${c.stride}`;
    const reps = name === 'cpu' ? 1 : 3;
    const fAttrs = { strides: c.stride, pad: 'same', dataFormat: 'NHWC', filterShape: [c.k, c.k, cin, c.cout] };
    const iAttrs = { strides: c.stride, pad: 'same', dataFormat: 'NHWC', inputShape: c.x };
    record(name, `Conv2D (forward${name === 'cpu' ? ', dynhead exact sum' : ''})`, shape, time(() => tf.dispose(tf.conv2d(x, f, c.stride, 'same')), reps), gmac);
    if (name === 'cpu') {
      const cAttrs = { strides: c.stride, pad: 'same', dataFormat: 'NHWC', dilations: 1 };
      record(name, 'Conv2D built-in', shape, time(() => runRaw(builtin.cpu.Conv2D, { x, filter: f }, cAttrs), reps), gmac);
      // Half the inputs 0, as after a ReLU: the exact-sum kernel skips them.
      const xr = tf.relu(tf.sub(x, 0.5));
      record(name, 'Conv2D post-ReLU input, dynhead exact sum', shape, time(() => tf.dispose(tf.conv2d(xr, f, c.stride, 'same')), reps), gmac);
      record(name, 'Conv2D post-ReLU input, built-in', shape, time(() => runRaw(builtin.cpu.Conv2D, { x: xr, filter: f }, cAttrs), reps), gmac);
      xr.dispose();
    }
    record(name, 'Conv2DBackpropFilter dynhead', shape, time(() => runEngine('Conv2DBackpropFilter', { x, dy }, fAttrs), reps), gmac);
    record(name, `Conv2DBackpropInput ${c.stride === 1 || (name === 'wasm' && c.k > 1) ? 'dynhead' : 'built-in'}`, shape, time(() => runEngine('Conv2DBackpropInput', { dy, filter: f }, iAttrs), reps), gmac);
    if (name === 'wasm') {
      record(name, 'Conv2DBackpropInput built-in', shape, time(() => runRaw(builtin.wasm.Conv2DBackpropInput, { dy, filter: f }, iAttrs), reps), gmac);
      // the two forms the registered Conv2DBackpropFilter picks between
      for (const [form, fn] of [['conv form', conv2dBackpropFilterComposed], ['matmul form', conv2dBackpropFilterMatMul]]) {
        record(name, `Conv2DBackpropFilter ${form}`, shape, time(() => runRaw({ kernelFunc: (a) => fn(a, 'wasm') }, { x, dy }, fAttrs), reps), gmac);
      }
    }
    if (name === 'cpu' && c.stride === 1) {
      record(name, 'Conv2DBackpropInput built-in', shape, time(() => runRaw(builtin.cpu.Conv2DBackpropInput, { dy, filter: f }, iAttrs), reps), gmac);
    }
    if (name === 'cpu' && h <= 16) {
      record(name, 'Conv2DBackpropFilter built-in', shape, time(() => runRaw(builtin.cpu.Conv2DBackpropFilter, { x, dy }, fAttrs), 1), gmac);
    }
    tf.dispose([x, f, dy]);
  }
  // Depthwise 3x3 x256 at 64x64 (the JS-loop kernels).
  const x = tf.randomUniform([1, 64, 64, 256]);
  const f = tf.randomUniform([3, 3, 256, 1]);
  const dy = tf.randomUniform([1, 64, 64, 256]);
  const gmac = (64 * 64 * 9 * 256) / 1e9;
  const shape = 'x[1,64,64,256] f[3,3,256,1] s1';
  record(name, `DepthwiseConv2dNative (forward${name === 'cpu' ? ', dynhead' : ''})`, shape, time(() => tf.dispose(tf.depthwiseConv2d(x, f, 1, 'same')), 3), gmac);
  if (name === 'cpu') {
    const dAttrs = { strides: 1, dilations: 1, pad: 'same', dataFormat: 'NHWC' };
    record(name, 'DepthwiseConv2dNative built-in', shape, time(() => runRaw(builtin.cpu.DepthwiseConv2dNative, { x, filter: f }, dAttrs), 3), gmac);
  }
  record(name, 'DepthwiseBackpropFilter dynhead', shape, time(() => runEngine('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides: 1, dilations: 1, pad: 'same', filterShape: [3, 3, 256, 1] }), 3), gmac);
  record(name, 'DepthwiseBackpropInput dynhead', shape, time(() => runEngine('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { strides: 1, dilations: 1, pad: 'same', inputShape: [1, 64, 64, 256] }), 3), gmac);
  tf.dispose([x, f, dy]);
  // The ResNet stem's 3x3 / 2 max pool (pad 1) of examples/train-bccd's model; "GFLOP/s" counts window reads.
  const xm = tf.relu(tf.randomNormal([2, 96, 128, 16]));
  const ym = tf.maxPool(xm, 3, 2, 1);
  const dym = tf.randomNormal(ym.shape);
  const mAttrs = { filterSize: 3, strides: 2, pad: 1 };
  const reads = (2 * 48 * 64 * 16 * 9) / 2e9;
  const mShape = 'x[2,96,128,16] 3x3 s2 pad 1';
  record(name, 'MaxPoolGrad dynhead', mShape, time(() => runEngine('MaxPoolGrad', { dy: dym, input: xm, output: ym }, mAttrs), 10), reads);
  // wasm binds its kernels' functions when the backend starts, and useBackend had replaced this one by then
  builtin[name].MaxPoolGrad.setupFunc?.(tf.backend());
  record(name, 'MaxPoolGrad built-in', mShape, time(() => runRaw(builtin[name].MaxPoolGrad, { dy: dym, input: xm, output: ym }, mAttrs), name === 'cpu' ? 1 : 10), reads);
  tf.dispose([xm, ym, dym]);
}

console.log('| backend | op | shape | ms | GFLOP/s |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.backend} | ${r.op} | ${r.shape} | ${r.ms} | ${r.gflops} |`);
const jsonPath = arg('--json');
if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ node: process.version, rows }, null, 2));
process.exit(0); // Dawn keeps the event loop alive
