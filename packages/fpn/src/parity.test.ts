import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { parseSafetensors, type SafetensorsFile, type StoredTensor } from '@dynhead/safetensors';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, seededRandom } from '../../../test/backends';
import { backboneParity, configFromGolden } from './index';
import { type RefSpec, randomCheckpoint, referenceForward } from './torch-reference.fixture';

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

let synthetic: { file: SafetensorsFile; tensors: Map<string, StoredTensor> } | undefined;
function syntheticGolden() {
  if (synthetic) return synthetic;
  const spec: RefSpec = { depth: 50, layout: 'torchvision', norm: 'frozenbn', gnGroups: 32, base: 64, fpnChannels: 16, p6From: 'c5', withRunningStats: true };
  const rand = seededRandom(31);
  const tensors = randomCheckpoint(spec, rand);
  const [h, w] = [35, 29];
  const image = Float32Array.from({ length: 3 * h * w }, () => rand(-2, 2));
  const outputs = referenceForward(spec, tensors, { c: 3, h, w, v: Float64Array.from(image) });
  tensors.set('input.image', { dtype: 'float32', shape: [1, 3, h, w], data: image });
  ['c3', 'c4', 'c5', 'p3', 'p4', 'p5', 'p6', 'p7'].forEach((name, i) => {
    const o = outputs[i];
    tensors.set(`output.${name}`, { dtype: 'float32', shape: [1, o.c, o.h, o.w], data: Float32Array.from(o.v) });
  });
  synthetic = { file: { metadata: { arch: 'resnet50', fpn_channels: '16', p6_from: 'c5' }, tensors }, tensors };
  return synthetic;
}

// backboneParity reads the architecture from the metadata: a full-width torchvision ResNet-50 with
// P6 from C5, its outputs from the float64 reference, written the way the golden files are (NCHW).
describe.each(TEST_BACKENDS.filter((b) => b !== 'webgpu'))('backboneParity on a synthetic ResNet-50 / P6-from-C5 golden on %s', (backend) => {
  it('passes, and fails when one output is perturbed', async () => {
    await activate(backend);
    const { file, tensors } = syntheticGolden();
    const report = await backboneParity(file);
    expect(report.config).toMatchObject({ depth: 50, p6From: 'c5', fpnChannels: 16 });
    expect(report.ok).toBe(true);
    expect(report.worst).toBeLessThan(1e-5);
    const p6 = tensors.get('output.p6') as StoredTensor;
    const bad = Float32Array.from(p6.data, (v, i) => (i === 0 ? v + 1 : v));
    tensors.set('output.p6', { ...p6, data: bad });
    const failed = await backboneParity(file);
    tensors.set('output.p6', p6);
    expect(failed.ok).toBe(false);
    expect(failed.groups.backbone.ok).toBe(true);
    expect(failed.groups.fpn.ok).toBe(false);
    expect(failed.tensors.p6).toBeGreaterThan(1e-3);
  });
});
