/**
 * Time per training step (forward + backward + SGD update) of ResNet + FPN, with a leak check.
 *   node packages/fpn/scripts/run.mjs packages/fpn/scripts/resnet-step.ts --backend wasm --depth 50 --size 512 --steps 3
 * Prints a table and writes JSON (default packages/fpn/scripts/results/resnet-step-<backend>-r<depth>-<size>.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@dynhead/runtime';
import { type ResNetDepth, ResNetFPN } from '@dynhead/fpn';

const { values: opts } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    depth: { type: 'string', default: '50' },
    size: { type: 'string', default: '512' },
    batch: { type: 'string', default: '1' },
    steps: { type: 'string', default: '3' },
    'freeze-at': { type: 'string', default: '2' },
    out: { type: 'string' },
  },
});
const depth = Number(opts.depth) as ResNetDepth;
const size = Number(opts.size);
const batch = Number(opts.batch);
const steps = Math.max(2, Number(opts.steps));
const freezeAt = Number(opts['freeze-at']);

const active = await useBackend(opts.backend);
const model = new ResNetFPN({ depth, fpnChannels: 256, freezeAt, p6From: 'p5' });
const images = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
const variables = model.trainableVariables();
const optimizer = tf.train.sgd(1e-6);
// A stand-in objective touching every pyramid level: mean of squares per level.
const loss = () => tf.tidy(() => tf.addN(model.apply(images, true).p.map((p) => tf.mean(tf.square(p)))) as tf.Scalar);

/**
 * Wall and CPU milliseconds. wasm in Node runs on one thread, so on a shared machine the process's
 * CPU time is the better measure of the work; wall time includes waiting for a core.
 */
async function time(f: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

const forwardMs: { wall: number; cpu: number }[] = [];
for (let i = 0; i < 2; i++) {
  const ms = await time(async () => {
    const out = model.apply(images);
    await Promise.all(out.p.map((p) => p.data()));
    for (const t of [...out.c, ...out.p]) t.dispose();
  });
  forwardMs.push(ms);
}

const stepMs: { wall: number; cpu: number }[] = [];
const tensorsAfter: number[] = [];
for (let i = 0; i < steps; i++) {
  const ms = await time(async () => {
    const value = optimizer.minimize(loss, true, variables) as tf.Scalar;
    await value.data();
    value.dispose();
  });
  stepMs.push(ms);
  tensorsAfter.push(tf.memory().numTensors);
  console.log(`step ${i + 1}: wall ${ms.wall.toFixed(0)} ms, cpu ${ms.cpu.toFixed(0)} ms, tensors ${tf.memory().numTensors}`);
}
const leaked = tensorsAfter[tensorsAfter.length - 1] - tensorsAfter[0];
const measured = stepMs.slice(1);
const mean = (key: 'wall' | 'cpu') => measured.reduce((a, b) => a + b[key], 0) / measured.length;
const result = {
  script: 'packages/fpn/scripts/resnet-step.ts',
  backend: active.name,
  detail: active.detail,
  model: `ResNet-${depth} + FPN (256 channels, P3-P7), frozen BN, freezeAt ${freezeAt}`,
  input: [batch, size, size, 3],
  trainableVariables: variables.length,
  forwardMs: forwardMs[1],
  stepMs: measured,
  stepWallMsMean: mean('wall'),
  stepCpuMsMean: mean('cpu'),
  firstStepMs: stepMs[0],
  tensorsAfterEachStep: tensorsAfter,
  leakedTensorsPerRun: leaked,
  node: process.version,
  date: new Date().toISOString(),
};
const row = (m: { wall: number; cpu: number }) => ({ 'wall ms': m.wall.toFixed(0), 'cpu ms': m.cpu.toFixed(0) });
console.table({ forward: row(forwardMs[1]), 'step (first)': row(stepMs[0]), 'step (mean of rest)': row({ wall: mean('wall'), cpu: mean('cpu') }) });
console.log(`tensors after each step: ${tensorsAfter.join(', ')} -> ${leaked === 0 ? 'no leak' : `LEAK of ${leaked}`}`);
const out = opts.out ?? `packages/fpn/scripts/results/resnet-step-${active.name}-r${depth}-${size}.json`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${out}`);
images.dispose();
optimizer.dispose();
model.dispose();
if (leaked !== 0) process.exitCode = 1;
