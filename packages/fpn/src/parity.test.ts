import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { parseSafetensors } from '@dynhead/safetensors';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate } from '../../../test/backends';
import { backboneParity, configFromGolden } from './index';

const GOLDEN = new URL('../../../../shared/golden/resnet18-fpn-c64.safetensors', import.meta.url);
const golden = parseSafetensors(new Uint8Array(readFileSync(GOLDEN)), 'resnet18-fpn-c64.safetensors');

describe('backbone golden metadata', () => {
  it('describes torchvision ResNet-18, 64 FPN channels, P6 from P5', () => {
    expect(configFromGolden(golden)).toMatchObject({ depth: 18, fpnChannels: 64, p6From: 'p5', layout: 'torchvision' });
  });

  it('rejects an unknown arch, naming the field', () => {
    const bad = { ...golden, metadata: { ...golden.metadata, arch: 'vgg16' } };
    expect(() => configFromGolden(bad, 'x.safetensors')).toThrow(/x\.safetensors: metadata 'arch' = "vgg16"/);
  });
});

// SwiftShader runs the whole ResNet-18 + FPN at 200x264 in about 35 s on an idle 2-core machine;
// the longer timeout is for shared machines.
describe.each(TEST_BACKENDS)('torchvision ResNet-18 + FPN parity on %s', (backend) => {
  it('C3..C5 and P3..P7 equal the PyTorch golden outputs', async () => {
    await activate(backend);
    const before = tf.memory().numTensors;
    const report = await backboneParity(golden, { source: 'resnet18-fpn-c64.safetensors' });
    const tolerance = backend === 'webgpu' ? 1e-4 : 1e-5;
    for (const [name, err] of Object.entries(report.tensors)) expect(err, name).toBeLessThan(tolerance);
    expect(report.groups.backbone.count).toBe(3);
    expect(report.groups.fpn.count).toBe(5);
    expect(report.ok).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  }, 300_000);
});
