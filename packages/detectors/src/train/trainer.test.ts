import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { activate } from '../../../../test/backends';
import { type DetectorConfig, fcosDynamicTiny } from '../config';
import { BatchSource } from '../data/batch-source';
import { syntheticDataset } from '../data/synthetic';
import { loadCheckpoint } from './checkpoint';
import { NonFiniteLossError, train } from './trainer';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'dynhead-train-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function source(config: DetectorConfig, count = 8) {
  const { samples, decode } = syntheticDataset(count, 64, 48, 3);
  return new BatchSource(samples, { imagesDir: '/synthetic', input: config.input, batchSize: config.solver.batchSize, hflipProb: 0.5, seed: 1, decode, cache: true });
}

describe('trainer', () => {
  it('resume from a checkpoint gives the same losses as an uninterrupted run', async () => {
    await activate('cpu');
    const config: DetectorConfig = { ...fcosDynamicTiny, solver: { ...fcosDynamicTiny.solver, checkpointPeriod: 2 } };
    const full = await train(config, source(config), { outDir: tmp(), maxIters: 4, logFormat: 'none' });
    full.detector.dispose();
    const dir = tmp();
    const first = await train(config, source(config), { outDir: dir, maxIters: 4, logFormat: 'none', stopAfter: 2 });
    first.detector.dispose();
    expect(loadCheckpoint(dir).meta.iteration).toBe(2);
    // a resumed run, once its detector is disposed, leaves no tensor behind (the loaded momentum included)
    const held = tf.memory().numTensors;
    const second = await train(config, source(config), { outDir: dir, maxIters: 4, logFormat: 'none', resume: true });
    second.detector.dispose();
    expect(tf.memory().numTensors).toBe(held);
    const resumed = [...first.records, ...second.records].map((r) => r.loss);
    expect(resumed).toHaveLength(4);
    expect(resumed).toEqual(full.records.map((r) => r.loss));
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.iter)).toEqual([0, 1, 2, 3]);
    for (const key of ['iter', 'loss', 'losses', 'lr', 'budgetRatio', 'gflops', 'numTensors', 'msPerIter']) expect(lines[0]).toHaveProperty(key);
    expect(Object.keys(lines[0].losses).sort()).toEqual(['budget', 'centerness', 'cls', 'reg']);

    // interrupted (Ctrl-C) after the first iteration, off the checkpoint period: that iteration is
    // checkpointed all the same, and resuming from it gives the uninterrupted losses too
    const cut = tmp();
    const controller = new AbortController();
    const stopped = await train(config, source(config), { outDir: cut, maxIters: 4, logFormat: 'none', signal: controller.signal, onIteration: () => controller.abort() });
    stopped.detector.dispose();
    expect([stopped.interrupted, stopped.iteration, stopped.records.length]).toEqual([true, 1, 1]);
    expect(loadCheckpoint(cut).meta.iteration).toBe(1);
    const rest = await train(config, source(config), { outDir: cut, maxIters: 4, logFormat: 'none', resume: true });
    rest.detector.dispose();
    expect(rest.interrupted).toBe(false);
    expect([...stopped.records, ...rest.records].map((r) => r.loss)).toEqual(full.records.map((r) => r.loss));
  }, 300_000);

  it('resume refuses a checkpoint of another config, naming both, and leaves no tensor', async () => {
    await activate('cpu');
    const config: DetectorConfig = { ...fcosDynamicTiny, solver: { ...fcosDynamicTiny.solver, checkpointPeriod: 1 } };
    const dir = tmp();
    (await train(config, source(config), { outDir: dir, maxIters: 1, logFormat: 'none' })).detector.dispose();
    const other: DetectorConfig = { ...config, name: 'fcos-dynamic-tiny-wider', head: { ...config.head, channels: 32 } };
    const held = tf.memory().numTensors;
    await expect(train(other, source(other), { outDir: dir, maxIters: 2, logFormat: 'none', resume: true })).rejects.toThrow(
      `--resume: ${join(dir, 'checkpoint.json')} was trained with config 'fcos-dynamic-tiny', not 'fcos-dynamic-tiny-wider'; resume with that config or train into a new --out`,
    );
    expect(tf.memory().numTensors).toBe(held);
    expect(loadCheckpoint(dir).meta.iteration).toBe(1);
  }, 300_000);

  it('checkpoints keep the data categories, and resume refuses data with other ones', async () => {
    await activate('cpu');
    const config: DetectorConfig = { ...fcosDynamicTiny, solver: { ...fcosDynamicTiny.solver, checkpointPeriod: 1 } };
    const dir = tmp();
    const categories = [
      { id: 1, name: 'RBC' },
      { id: 2, name: 'WBC' },
      { id: 3, name: 'Platelets' },
    ];
    (await train(config, source(config), { outDir: dir, maxIters: 1, logFormat: 'none', categories })).detector.dispose();
    expect(loadCheckpoint(dir).meta.categories).toEqual(categories);
    const swapped = [categories[1], categories[0], categories[2]];
    await expect(train(config, source(config), { outDir: dir, maxIters: 2, logFormat: 'none', resume: true, categories: swapped })).rejects.toThrow(
      `--resume: ${join(dir, 'checkpoint.json')} was trained on categories [1 RBC, 2 WBC, 3 Platelets], the data given has [2 WBC, 1 RBC, 3 Platelets]`,
    );
    // the same categories resume, and the next checkpoint keeps them
    (await train(config, source(config), { outDir: dir, maxIters: 2, logFormat: 'none', resume: true, categories })).detector.dispose();
    expect(loadCheckpoint(dir).meta).toMatchObject({ iteration: 2, categories });
  }, 300_000);

  it('a non-finite loss stops training with a clear message and keeps the last good checkpoint', async () => {
    await activate('cpu');
    // lr 1e6 blows the weights up within a few steps.
    const config: DetectorConfig = {
      ...fcosDynamicTiny,
      solver: { ...fcosDynamicTiny.solver, checkpointPeriod: 1, schedule: { ...fcosDynamicTiny.solver.schedule, baseLr: 1e8, warmupIters: 0 } },
    };
    const dir = tmp();
    let error: unknown;
    let seen = 0;
    try {
      await train(config, source(config), { outDir: dir, maxIters: 20, logFormat: 'none', onIteration: () => seen++ });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect((error as Error).message).toMatch(/loss is (NaN|Infinity|-Infinity) at iteration \d+.*last good checkpoint is iteration \d+/);
    const ck = loadCheckpoint(dir);
    expect(ck.meta.iteration).toBe(seen);
    expect(Number.isFinite(ck.meta.lastLoss)).toBe(true);
    for (const t of ck.model.values()) for (const v of t.data) expect(Number.isFinite(v)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  }, 300_000);

  it('numTensors is flat from iteration 2 on over 30 iterations (wasm, for speed)', async () => {
    await activate('wasm');
    const config: DetectorConfig = { ...fcosDynamicTiny, solver: { ...fcosDynamicTiny.solver, checkpointPeriod: 1000 } };
    const counts: number[] = [];
    const r = await train(config, source(config), { outDir: tmp(), maxIters: 30, logFormat: 'none', onIteration: () => counts.push(tf.memory().numTensors) });
    r.detector.dispose();
    expect(counts).toHaveLength(30);
    expect(new Set(counts.slice(1)).size).toBe(1);
  }, 300_000);
});
