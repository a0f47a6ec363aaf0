import { Detector, fcosDynamicTiny } from '@dynhead/detectors';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { activate } from '../../test/backends';
import { runTrainStepBench, syntheticBatch, TRAIN_STEP_DEFAULTS, TRAIN_STEP_QUICK, trainStepTable } from './train-step';

describe('train-step bench on cpu', () => {
  beforeAll(async () => {
    await activate('cpu');
  });

  it('times full FCOS steps of the tiny detector without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const r = await runTrainStepBench({ ...TRAIN_STEP_QUICK, repeats: 1, warmup: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.leakedTensors).toBe(0);
    expect(r.config).toBe(fcosDynamicTiny.name);
    expect(r.samplesMs).toHaveLength(1);
    expect(r.medianMs).toBeGreaterThan(0);
    expect(Number.isFinite(r.loss)).toBe(true);
    // The first step's loss is the detector's loss on the same batch with the seeded weights.
    const fresh = new Detector(fcosDynamicTiny);
    const batch = syntheticBatch({ ...TRAIN_STEP_DEFAULTS, ...TRAIN_STEP_QUICK }, fcosDynamicTiny);
    const total = tf.tidy(() => fresh.losses(batch).total);
    expect(r.firstLoss).toBeCloseTo((await total.data())[0], 5);
    tf.dispose([total, batch.images]);
    fresh.dispose();
    // ...and the SGD steps changed the weights.
    expect(r.loss).not.toBe(r.firstLoss);
    const div = fcosDynamicTiny.input.sizeDivisibility;
    expect(r.image).toEqual({ height: Math.ceil(96 / div) * div, width: Math.ceil(128 / div) * div });
    // Every trainable variable of the detector is counted.
    const d = new Detector(fcosDynamicTiny);
    const expected = [...d.trainableVariables().values()].reduce((n, v) => n + v.size, 0);
    d.dispose();
    expect(r.parameters).toBe(expected);
    expect(trainStepTable(r).split('\n')[2]).toContain(`| ${fcosDynamicTiny.name} | 2 | ${r.image.height}x${r.image.width} |`);
  });

  it('names the known configs when given an unknown one', async () => {
    await expect(runTrainStepBench({ config: 'nope' })).rejects.toThrow(/unknown config 'nope' \(known: .*fcos-dynamic-tiny/);
  });
});
