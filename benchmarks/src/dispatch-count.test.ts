import { DynamicHead } from '@dynhead/router';
import { setWebGPUTuning } from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { activate, TEST_BACKENDS } from '../../test/backends';
import { dispatchCountTable, runDispatchCount } from './dispatch-count';
import { syntheticFeatures } from './features';
import { disposeOutputs } from './head-outputs';
import { levelShapes } from './levels';
import { passProfile } from './measure';
import { headVariants } from './variants';

const image = { height: 64, width: 96 };
const C = 32;

describe.each(TEST_BACKENDS.filter((b) => b === 'webgpu'))('bench dispatches on %s', (backend) => {
  afterEach(() => setWebGPUTuning(undefined));

  it.each(['gpu', 'swiftshader'] as const)('as on %s: a pass counted as encoded dispatches what the same pass run under the head bench\'s profile dispatches', async (tuning) => {
    await activate(backend);
    setWebGPUTuning(tuning);
    const before = tf.memory().numTensors;
    const r = await runDispatchCount({ image, channels: C, batches: [1, 2], only: ['FCOS', 'D8 Mid'] });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.rows.map((row) => [row.head, row.batch])).toEqual([
      ['FCOS (4 conv)', 1],
      ['Dynamic D8 Mid', 1],
      ['FCOS (4 conv)', 2],
      ['Dynamic D8 Mid', 2],
    ]);
    // the bench's profiled pass (run, submitted, read) of the same heads and features, after a warm-up pass
    for (const row of r.rows) {
      const variant = headVariants(C).find((v) => v.name === row.head);
      const head = new DynamicHead(variant?.config ?? ({} as never), 1);
      const features = syntheticFeatures(levelShapes(image), row.batch, C, 1);
      const pass = async () => {
        const out = await head.infer(features, { recordGates: false });
        await out.logits[0].data();
        disposeOutputs(out);
      };
      await pass();
      const profile = await passProfile(pass);
      expect(row.dispatches, `${row.head}, batch ${row.batch}`).toBe(profile.dispatches);
      expect(row.programs.reduce((a, p) => a + p.dispatches, 0)).toBe(row.dispatches);
      head.dispose();
      tf.dispose(features);
    }
    // a D8 block's scale node (its fused paths, their statistics, its blend) and its depth node (a
    // gate conv and two GEMMs): on a GPU one set for both towers, on SwiftShader one a tower (its
    // form keeps them apart); and the predictors' cls GEMM and centerness conv
    const d8 = r.rows[1].programs;
    const count = (name: string) => d8.find((p) => p.name === name)?.dispatches ?? 0;
    const nodes = tuning === 'gpu' ? 8 : 16;
    expect([count('ScalePathsGatesProgram'), count('BlendPyramidProgram')]).toEqual([nodes, nodes]);
    expect([count('GateConvProgram'), count('CompactGemmConvProgram')]).toEqual([nodes + 1, nodes * 2 + 1]);
    // copies, not programs: D8's five feature levels into the packed tower, its 15 outputs (three
    // predictors, five levels) and two cost columns out, and on a GPU the last block's output cut
    // in two for the predictors (the blocks' scale nodes write both towers' maps stacked)
    const copies = 5 + 15 + 2 + (tuning === 'gpu' ? 2 : 0);
    expect(r.rows.filter((row) => row.head === 'Dynamic D8 Mid').map((row) => row.copies)).toEqual([copies, copies]);
    expect(dispatchCountTable(r)).toContain(`| Dynamic D8 Mid | 1 | ${r.rows[1].dispatches} | ${copies} |`);
  }, 120_000);
});
