import { readFileSync } from 'node:fs';
import { parseSafetensors } from '@dynhead/safetensors';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate } from '../../../test/backends';
import { headParity } from './parity';

const golden = (name: string) => new URL(`../../../../shared/golden/${name}`, import.meta.url);
const load = (name: string) => parseSafetensors(new Uint8Array(readFileSync(golden(name))), name);

describe.each(TEST_BACKENDS)('parity with the official head on %s', (backend) => {
  for (const name of ['fcos-dynhead-d4-c64.safetensors', 'fcos-dynhead-d8-c64.safetensors']) {
    it(name, async () => {
      await activate(backend);
      const before = tf.memory().numTensors;
      const t0 = Date.now();
      const report = await headParity(load(name), { gradients: process.env.P4_GRADS !== '0' });
      console.log(backend, name, (Date.now() - t0) / 1000, JSON.stringify(Object.fromEntries(Object.entries(report.groups).map(([k, g]) => [k, [g?.worst.toExponential(2), g?.worstTensor]]))));
      expect(tf.memory().numTensors).toBe(before);
      expect(report.ok).toBe(true);
    });
  }
});
