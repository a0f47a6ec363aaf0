import { DynamicHead, dynamicHead, fixHead } from '@dynhead/router';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { activate, TEST_BACKENDS } from '../../test/backends';
import { syntheticFeatures } from './features';
import { calibrateGateBias, setGateBias, usedRatio } from './gate-density';
import { disposeOutputs, readCosts } from './head-outputs';
import { headTable, runHeadBench } from './head';
import { levelShapes, pixelCount } from './levels';
import { fullCostPerPixel } from './variants';

// The bench's numbers are backend-independent; cpu keeps this file fast.
const tiny = { height: 64, width: 96 };
const C = 32;

describe('head bench on cpu', () => {
  beforeAll(async () => {
    await activate('cpu');
  });

  it("the router's full cost equals the bench's formula (Fix and dynamic heads)", async () => {
    const shapes = levelShapes(tiny);
    const features = syntheticFeatures(shapes, 2, C, 3);
    for (const config of [{ ...fixHead, channels: C, blocks: 2 }, { ...dynamicHead, channels: C, blocks: 2 }]) {
      const head = new DynamicHead(config, 1);
      const out = await head.infer(features, { recordGates: false });
      const { full } = await readCosts(out);
      disposeOutputs(out);
      head.dispose();
      // 2 towers x 2 blocks x (2 x (32*9 + 32 [+ 32*9 gate conv]) + 2 x (32*32*9 + 32)) per pixel.
      const gateConv = config.kind === 'dynamic' ? 32 * 9 : 0;
      const perPixel = 2 * 2 * (2 * (32 * 9 + 32 + gateConv) + 2 * (32 * 32 * 9 + 32));
      expect(fullCostPerPixel(config)).toBe(perPixel);
      expect(full).toEqual([perPixel * pixelCount(shapes), perPixel * pixelCount(shapes)]);
    }
    tf.dispose(features);
  });

  it('gate biases set the density: all on, all off, and a calibrated target', async () => {
    const features = syntheticFeatures(levelShapes(tiny), 1, C, 5);
    const head = new DynamicHead({ ...dynamicHead, channels: C, blocks: 2 }, 1);
    setGateBias(head, 30);
    expect(await usedRatio(head, features)).toBe(1);
    setGateBias(head, -30);
    expect(await usedRatio(head, features)).toBe(0);
    const c = await calibrateGateBias(head, features, 0.3);
    expect(Math.abs(c.ratio - 0.3)).toBeLessThan(0.05);
    expect(await usedRatio(head, features)).toBeCloseTo(c.ratio, 6);
    head.dispose();
    tf.dispose(features);
  });

  it('measures every requested head and batch without leaking tensors', async () => {
    const options = {
      image: tiny,
      calibrationImage: tiny,
      calibrationSteps: 12,
      channels: C,
      batches: [1, 2],
      repeats: 1,
      warmup: 0,
      only: ['FCOS', 'Dynamic D4 Mid'],
    };
    const before = tf.memory().numTensors;
    const result = await runHeadBench(options);
    expect(tf.memory().numTensors).toBe(before);
    expect(result.rows.map((r) => `${r.head}/${r.batch}`)).toEqual(['FCOS (4 conv)/1', 'FCOS (4 conv)/2', 'Dynamic D4 Mid/1', 'Dynamic D4 Mid/2']);
    const pixels = pixelCount(levelShapes(tiny));
    const fcos = result.rows[0];
    // 2 towers x 4 convs x (32*32*9 + 32) multiply-adds per pixel.
    expect(fcos.fullGFlops).toBeCloseTo((8 * (32 * 32 * 9 + 32) * pixels) / 2 ** 30, 12);
    expect(fcos.usedRatio).toBe(1);
    for (const r of result.rows) {
      expect(r.medianMs).toBeGreaterThan(0);
      expect(r.peakMiB).toBeGreaterThan(0);
      expect(r.kernels).toBeGreaterThan(0);
      expect(r.hostMs).toBeNull();
    }
    // Calibrated on the same image: used/full near the Mid target 83.9 / 397.2 = 0.211.
    const mid = result.rows[2];
    expect(Math.abs(mid.usedRatio - 0.211)).toBeLessThan(0.06);
    expect(mid.usedGFlops.avg).toBeCloseTo(mid.usedRatio * mid.fullGFlops, 9);
    // A second run leaves the tensor count as it was too (no leak per run).
    await runHeadBench({ ...options, batches: [1], only: ['Dynamic D4 Mid'] });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe.each(TEST_BACKENDS.filter((b) => b === 'webgpu'))('head bench on %s', (backend) => {
  it('reports the host time each pass spends handing its programs to the GPU, within the pass', async () => {
    await activate(backend);
    const before = tf.memory().numTensors;
    const result = await runHeadBench({ image: tiny, calibrationImage: tiny, calibrationSteps: 4, channels: C, batches: [1], repeats: 2, warmup: 0, only: ['FCOS', 'Dynamic D8 Mid'] });
    expect(tf.memory().numTensors).toBe(before);
    for (const r of result.rows) {
      expect(r.dispatches).toBeGreaterThan(0);
      expect(r.hostMs).toBeGreaterThan(0);
      // part of each pass: no more than the slowest timed pass's wall time
      expect(r.hostMs as number).toBeLessThanOrEqual(Math.max(...(r.samplesMs ?? [])));
    }
    expect(headTable(result).split('\n')[0]).toMatch(/ \| host ms \/ pass \|$/);
  }, 120_000);
});
