import * as tf from '@tensorflow/tfjs-core';
import { nchwToNhwc, type StoredTensor } from '@dynhead/safetensors';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { type BackboneConfig, normalizeImage, ResNetFPN, WeightsMismatchError } from './index';
import { type Map3, type RefSpec, randomCheckpoint, referenceForward } from './torch-reference.fixture';

function randomImage(h: number, w: number, seed: number): Map3 {
  const rand = seededRandom(seed);
  const v = new Float64Array(3 * h * w);
  for (let j = 0; j < v.length; j++) v[j] = rand(-2, 2);
  return { c: 3, h, w, v };
}

const toNhwc = (x: Map3) => {
  const t = nchwToNhwc(Float32Array.from(x.v), [1, x.c, x.h, x.w]);
  return tf.tensor4d(t.data, t.shape as [number, number, number, number]);
};

async function compare(spec: RefSpec, config: Partial<BackboneConfig>, h: number, w: number, seed: number): Promise<number[]> {
  const sd = randomCheckpoint(spec, seededRandom(seed));
  const image = randomImage(h, w, seed + 1);
  const want = referenceForward(spec, sd, image);
  const model = new ResNetFPN(config);
  model.loadStateDict(sd);
  const input = toNhwc(image);
  const { c, p } = model.apply(input);
  const errors: number[] = [];
  for (const [i, got] of [...c, ...p].entries()) {
    expect(got.shape).toEqual([1, want[i].h, want[i].w, want[i].c]);
    errors.push(relL2(await got.data(), nchwToNhwc(want[i].v, [1, want[i].c, want[i].h, want[i].w]).data));
    got.dispose();
  }
  input.dispose();
  model.dispose();
  return errors;
}

const tiny = { base: 8, fpnChannels: 16, gnGroups: 4 };

// Against the float64 NCHW reference of torchvision / cvpods semantics: bottlenecks, both stride
// placements, P6 from C5, checkpoints without BN statistics, GroupNorm. Odd sizes exercise the
// symmetric stride-2 padding and the nearest upsampling to non-2x sizes.
describe.each(TEST_BACKENDS.filter((b) => b !== 'webgpu'))('ResNet + FPN against a float64 reference on %s', (backend) => {
  it('torchvision ResNet-50 (stride in the 3x3), P6 from C5', async () => {
    await activate(backend);
    const spec: RefSpec = { ...tiny, depth: 50, layout: 'torchvision', norm: 'frozenbn', p6From: 'c5', withRunningStats: true };
    const errors = await compare(spec, { depth: 50, widthMultiplier: 0.125, fpnChannels: 16, p6From: 'c5' }, 45, 38, 11);
    for (const e of errors) expect(e).toBeLessThan(1e-5);
  });

  it('MSRA ResNet-50 (stride in the 1x1) from cvpods names, BN statistics absent', async () => {
    await activate(backend);
    const spec: RefSpec = { ...tiny, depth: 50, layout: 'msra', norm: 'frozenbn', p6From: 'c5', withRunningStats: false };
    const errors = await compare(spec, { depth: 50, layout: 'msra', widthMultiplier: 0.125, fpnChannels: 16, p6From: 'c5' }, 40, 33, 12);
    for (const e of errors) expect(e).toBeLessThan(1e-5);
  });

  it('GroupNorm ResNet-34 trained from scratch, P6 from P5', async () => {
    await activate(backend);
    const spec: RefSpec = { ...tiny, depth: 34, layout: 'torchvision', norm: 'gn', p6From: 'p5', withRunningStats: false };
    const errors = await compare(spec, { depth: 34, widthMultiplier: 0.125, norm: 'gn', gnGroups: 4, freezeAt: 0, fpnChannels: 16 }, 36, 52, 13);
    for (const e of errors) expect(e).toBeLessThan(1e-5);
  });
});

describe('weights', () => {
  it('stateDict returns what was loaded, under the same names, bit for bit', async () => {
    await activate('cpu');
    const spec: RefSpec = { ...tiny, depth: 18, layout: 'msra', norm: 'frozenbn', p6From: 'c5', withRunningStats: true };
    const sd = randomCheckpoint(spec, seededRandom(3));
    const model = new ResNetFPN({ depth: 18, layout: 'msra', widthMultiplier: 0.125, fpnChannels: 16, p6From: 'c5' });
    model.loadStateDict(sd);
    const back = await model.stateDict();
    const expected = [...sd.keys()].filter((k) => !k.endsWith('num_batches_tracked')).sort();
    expect([...back.keys()].sort()).toEqual(expected);
    for (const name of expected) {
      const a = back.get(name) as StoredTensor;
      expect(a.shape, name).toEqual((sd.get(name) as StoredTensor).shape);
      expect(Array.from(a.data), name).toEqual(Array.from((sd.get(name) as StoredTensor).data));
    }
    model.dispose();
  });

  it('a mismatched checkpoint is rejected with every missing, unexpected and misshaped name, and nothing loaded', async () => {
    await activate('cpu');
    const spec: RefSpec = { ...tiny, depth: 18, layout: 'torchvision', norm: 'frozenbn', p6From: 'p5', withRunningStats: true };
    const sd = randomCheckpoint(spec, seededRandom(4));
    sd.delete('backbone.layer2.0.bn1.running_var');
    sd.set('fpn.extra_blocks.p8.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    const p6 = sd.get('fpn.extra_blocks.p6.weight') as StoredTensor;
    sd.set('fpn.extra_blocks.p6.weight', { ...p6, shape: [16, 16, 1, 9] });
    sd.set('head.cls_score.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) }); // not ours: ignored
    const model = new ResNetFPN({ depth: 18, widthMultiplier: 0.125, fpnChannels: 16 });
    const before = await model.stateDict();
    let error: unknown;
    try {
      model.loadStateDict(sd, { source: 'bad.safetensors' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeightsMismatchError);
    const e = error as WeightsMismatchError;
    expect(e.message).toMatch(/^bad\.safetensors: /);
    expect(e.missing).toEqual(['backbone.layer2.0.bn1.running_var']);
    expect(e.unexpected).toEqual(['fpn.extra_blocks.p8.weight']);
    expect(e.shapeMismatches).toEqual(['fpn.extra_blocks.p6.weight: file [16,16,1,9] vs model [16,16,3,3]']);
    const after = await model.stateDict();
    for (const [k, v] of before) expect(Array.from((after.get(k) as StoredTensor).data), k).toEqual(Array.from(v.data));
    model.dispose();
  });

  it("an ImageNet checkpoint loads with parts: 'backbone' (classifier and counters skipped); 'all' names the missing FPN", async () => {
    await activate('cpu');
    const spec: RefSpec = { ...tiny, depth: 18, layout: 'torchvision', norm: 'frozenbn', p6From: 'p5', withRunningStats: true };
    const sd = new Map([...randomCheckpoint(spec, seededRandom(5))].filter(([k]) => k.startsWith('backbone.')));
    sd.set('backbone.fc.weight', { dtype: 'float32', shape: [10, 64], data: new Float32Array(640) });
    const model = new ResNetFPN({ depth: 18, widthMultiplier: 0.125, fpnChannels: 16 });
    expect(() => model.loadStateDict(sd)).toThrow(/missing \(16\): fpn\.inner_blocks\.0\.0\.weight/);
    model.loadStateDict(sd, { parts: 'backbone' });
    const back = await model.stateDict({ parts: 'backbone' });
    expect(Array.from((back.get('backbone.layer4.1.bn2.running_var') as StoredTensor).data)).toEqual(Array.from((sd.get('backbone.layer4.1.bn2.running_var') as StoredTensor).data));
    model.dispose();
  });

  it('accepts torchvision < 0.13 FPN names (inner_blocks.I.weight)', async () => {
    await activate('cpu');
    const spec: RefSpec = { ...tiny, depth: 18, layout: 'torchvision', norm: 'frozenbn', p6From: 'p5', withRunningStats: true };
    const sd = new Map([...randomCheckpoint(spec, seededRandom(6))].map(([k, v]) => [k.replace(/^fpn\.(inner|layer)_blocks\.(\d)\.0\./, 'fpn.$1_blocks.$2.'), v]));
    const model = new ResNetFPN({ depth: 18, widthMultiplier: 0.125, fpnChannels: 16 });
    model.loadStateDict(sd);
    const back = await model.stateDict();
    expect(Array.from((back.get('fpn.layer_blocks.2.0.bias') as StoredTensor).data)).toEqual(Array.from((sd.get('fpn.layer_blocks.2.bias') as StoredTensor).data));
    model.dispose();
  });
});

describe('config and input checks', () => {
  it('names the field at fault', () => {
    expect(() => new ResNetFPN({ depth: 42 as 50 })).toThrow(/BackboneConfig\.depth = 42/);
    expect(() => new ResNetFPN({ freezeAt: 7 })).toThrow(/BackboneConfig\.freezeAt = 7/);
    expect(() => new ResNetFPN({ p6From: 'p4' as 'p5' })).toThrow(/BackboneConfig\.p6From = "p4"/);
  });

  it('rejects non-NHWC-RGB images', async () => {
    await activate('cpu');
    const model = new ResNetFPN({ depth: 18, widthMultiplier: 0.125, fpnChannels: 8 });
    const x = tf.zeros([1, 3, 32, 32]) as tf.Tensor4D;
    expect(() => model.apply(x)).toThrow(/NHWC \[B, H, W, 3\], got \[1,3,32,32\]/);
    x.dispose();
    model.dispose();
  });
});

describe.each(TEST_BACKENDS.filter((b) => b !== 'webgpu'))('normalizeImage on %s', (backend) => {
  it('torchvision: (x / 255 - mean) / std in RGB; MSRA: BGR minus [103.53, 116.28, 123.675]', async () => {
    await activate(backend);
    const rgb = [0, 128, 255, 17, 200, 90];
    const x = tf.tensor4d(rgb, [1, 1, 2, 3], 'int32');
    const tv = await normalizeImage(x, 'torchvision').data();
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    for (const [i, v] of rgb.entries()) expect(Math.abs(tv[i] - (v / 255 - mean[i % 3]) / std[i % 3])).toBeLessThan(1e-6);
    const msra = await normalizeImage(x, 'msra').data();
    const bgrMean = [103.53, 116.28, 123.675];
    rgb.forEach((_, i) => {
      const px = Math.floor(i / 3);
      const c = i % 3;
      expect(Math.abs(msra[i] - (rgb[px * 3 + 2 - c] - bgrMean[c]))).toBeLessThan(1e-5);
    });
    x.dispose();
  });
});
