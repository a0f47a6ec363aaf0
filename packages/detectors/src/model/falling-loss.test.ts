import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { activate } from '../../../../test/backends';
import { type DetectorKind, tinyConfig } from '../config';
import { BatchSource } from '../data/batch-source';
import { syntheticDataset } from '../data/synthetic';
import { train } from '../train/trainer';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

// Each detector (tiny: 64-pixel synthetic rectangles, 2 images, batch 1) overfits for 20 iterations on cpu.
const cases: [DetectorKind, 'dynamic' | 'fix' | 'conventional'][] = [
  ['fcos', 'dynamic'],
  ['retinanet', 'conventional'],
  ['atss', 'conventional'],
  ['freeanchor', 'fix'],
];

describe.each(cases)('%s with the %s head on cpu', (detector, head) => {
  it('trains 20 iterations with falling loss, every term finite', async () => {
    await activate('cpu');
    const base = tinyConfig(detector, head);
    const config = {
      ...base,
      solver: { ...base.solver, checkpointPeriod: 1000, schedule: { ...base.solver.schedule, baseLr: 0.01, warmupIters: 3 } },
    };
    const { samples, decode } = syntheticDataset(2, 64, 48, 11);
    const data = new BatchSource(samples, { imagesDir: '/synthetic', input: config.input, batchSize: 1, hflipProb: 0, seed: 2, decode, cache: true });
    const dir = mkdtempSync(join(tmpdir(), 'dynhead-fall-'));
    dirs.push(dir);
    const r = await train(config, data, { outDir: dir, maxIters: 20, logFormat: 'none' });
    r.detector.dispose();
    const losses = r.records.map((x) => x.loss);
    expect(losses).toHaveLength(20);
    for (const rec of r.records) for (const v of Object.values(rec.losses)) expect(Number.isFinite(v)).toBe(true);
    expect(mean(losses.slice(-5))).toBeLessThan(0.9 * mean(losses.slice(0, 5)));
  }, 300_000);
});
