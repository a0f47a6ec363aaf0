import { readFileSync } from 'node:fs';
import { parseSafetensors } from '@dynhead/safetensors';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate } from '../../../test/backends';
import { headParity } from './parity';

const golden = (name: string) => new URL(`../../../../shared/golden/${name}`, import.meta.url);
const load = (name: string) => parseSafetensors(new Uint8Array(readFileSync(golden(name))), name);

describe.each(TEST_BACKENDS)('parity with the official head on %s', (backend) => {
  it('D4: train outputs, gates, costs, budget ratio, gradients, eval outputs', async () => {
    await activate(backend);
    const before = tf.memory().numTensors;
    const report = await headParity(load('fcos-dynhead-d4-c64.safetensors'), {
      gradients: process.env.P4_GRADS !== '0',
    });
    console.log(backend, JSON.stringify(report.groups, null, 1), report.unmatched.length);
    expect(tf.memory().numTensors).toBe(before);
    expect(report.ok).toBe(true);
  });
});
