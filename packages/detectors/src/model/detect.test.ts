import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate } from '../../../../test/backends';
import { type DetectorKind, type HeadChoice, tinyConfig } from '../config';
import { BatchSource } from '../data/batch-source';
import { syntheticDataset } from '../data/synthetic';
import { Detector } from './detector';

// Every detector kind with the head its paper pairs it with here, on 64-pixel synthetic images.
const cases: [DetectorKind, HeadChoice['kind']][] = [
  ['fcos', 'dynamic'],
  ['retinanet', 'conventional'],
  ['atss', 'conventional'],
  ['freeanchor', 'fix'],
];

describe.each(TEST_BACKENDS)('Detector.detect on %s', (backend) => {
  it.each(cases)('%s (%s head) holds no tensor after an image, with or without gate maps', async (kind, head) => {
    await activate(backend);
    const config = tinyConfig(kind, head);
    const { samples, decode } = syntheticDataset(4, 64, 48, 3);
    const data = new BatchSource(samples, { imagesDir: '/synthetic', input: config.input, batchSize: 1, hflipProb: 0, seed: 1, decode, cache: true });
    const before = tf.memory().numTensors;
    const detector = new Detector(config);
    const withModel = tf.memory().numTensors;
    const counts: number[] = [];
    let image = 0;
    for await (const batch of data.testBatches(1)) {
      const recordGates = image++ % 2 === 1;
      const r = await detector.detect(batch, { recordGates });
      batch.images.dispose();
      expect(r.detections).toHaveLength(1);
      expect(r.used[0]).toBeGreaterThan(0);
      expect(r.used[0]).toBeLessThanOrEqual(r.full[0]);
      if (recordGates) {
        // the caller owns the gate maps it asked for
        // per tower and block: two spatial gates (one per dynamic conv) and the depth gate, each on 5 levels
        const gates = Object.values(r.gates ?? {});
        expect(gates).toHaveLength(head === 'dynamic' ? 2 * config.head.blocks * 3 : 0);
        for (const g of gates) expect(g).toHaveLength(config.head.strides.length);
        tf.dispose(Object.values(r.gates ?? {}).flat());
      }
      counts.push(tf.memory().numTensors);
    }
    expect(counts).toEqual(counts.map(() => withModel));
    detector.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);
});
