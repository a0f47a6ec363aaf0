import * as tf from '@tensorflow/tfjs-core';
import { nchwToNhwc, type StoredTensor } from '@dynhead/safetensors';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, seededRandom } from '../../../test/backends';
import { type BackboneConfig, ResNetFPN } from './index';
import { type Map3, type RefSpec, randomCheckpoint, referenceForward } from './torch-reference.fixture';

const H = 37;
const W = 30;

function setup(spec: RefSpec, config: Partial<BackboneConfig>, seed: number) {
  const rand = seededRandom(seed);
  const sd = randomCheckpoint(spec, rand);
  const image: Map3 = { c: 3, h: H, w: W, v: Float64Array.from({ length: 3 * H * W }, () => rand(-2, 2)) };
  // Objective: sum over levels of <P_l, R_l> with fixed random R (NCHW, as the reference gives P).
  const shapes = referenceForward(spec, sd, image).slice(3);
  const weights = shapes.map((p) => Float64Array.from({ length: p.v.length }, () => rand(-1, 1)));
  const objective64 = (state: Map<string, StoredTensor>) =>
    referenceForward(spec, state, image)
      .slice(3)
      .reduce((acc, p, l) => acc + p.v.reduce((a, v, j) => a + v * weights[l][j], 0), 0);
  const model = new ResNetFPN(config);
  model.loadStateDict(sd);
  const x = nchwToNhwc(Float32Array.from(image.v), [1, 3, H, W]);
  const input = tf.tensor4d(x.data, x.shape as [number, number, number, number]);
  const rTensors = shapes.map((p, l) => {
    const t = nchwToNhwc(Float32Array.from(weights[l]), [1, p.c, p.h, p.w]);
    return tf.tensor4d(t.data, t.shape as [number, number, number, number]);
  });
  const objective = () => tf.tidy(() => tf.addN(model.apply(input, true).p.map((p, l) => tf.sum(tf.mul(p, rTensors[l])))) as tf.Scalar);
  const dispose = () => {
    model.dispose();
    input.dispose();
    for (const r of rTensors) r.dispose();
  };
  return { sd, model, objective, objective64, dispose };
}

/** Flat index in a torch [out, in, kh, kw] filter of flat index `j` of its tfjs [kh, kw, in, out] copy. */
function torchIndex(tfjsShape: number[], j: number, torchShape: number[]): number {
  const [, kw, cin, cout] = tfjsShape;
  const o = j % cout;
  const i = Math.floor(j / cout) % cin;
  const kx = Math.floor(j / (cout * cin)) % kw;
  const ky = Math.floor(j / (cout * cin * kw));
  return ((o * torchShape[1] + i) * torchShape[2] + ky) * torchShape[3] + kx;
}

// wasm trains through @dynhead/runtime's Conv2DBackpropFilter; webgpu (SwiftShader) is left to the golden parity test.
describe.each(TEST_BACKENDS.filter((b) => b !== 'webgpu'))('ResNet + FPN gradients on %s', (backend) => {
  it('equal float64 central differences of the reference, and frozen stages get none', async () => {
    await activate(backend);
    const spec: RefSpec = { base: 8, fpnChannels: 8, gnGroups: 4, depth: 18, layout: 'torchvision', norm: 'frozenbn', p6From: 'p5', withRunningStats: true };
    const { sd, model, objective, objective64, dispose } = setup(spec, { depth: 18, widthMultiplier: 0.125, fpnChannels: 8, freezeAt: 2 }, 21);
    const named = model.namedWeights();
    const trainable = new Set(model.trainableVariables());
    for (const [name, v] of named) {
      const frozen = name.startsWith('backbone.conv1.') || name.startsWith('backbone.layer1.');
      expect(trainable.has(v), name).toBe(!frozen);
    }
    const { grads } = tf.variableGrads(objective, model.trainableVariables());
    // Probe each weight where its gradient is largest (ReLUs leave many entries exactly 0).
    const probes = ['backbone.layer2.0.conv1.weight', 'backbone.layer2.0.downsample.0.weight', 'backbone.layer3.1.conv2.weight', 'backbone.layer4.1.conv2.weight', 'fpn.inner_blocks.0.0.weight', 'fpn.inner_blocks.1.0.bias', 'fpn.extra_blocks.p6.weight'];
    for (const name of probes) {
      const variable = named.get(name) as tf.Variable;
      const stored = sd.get(name) as StoredTensor;
      const g = await grads[variable.name].data();
      let at = 0;
      for (let j = 1; j < g.length; j++) if (Math.abs(g[j]) > Math.abs(g[at])) at = j;
      const flatTorch = stored.shape.length === 1 ? at : torchIndex(variable.shape, at, stored.shape);
      // The checkpoint is float32: divide by the step actually stored, not the one asked for.
      const shifted = (delta: number) => {
        const data = Float32Array.from(stored.data);
        data[flatTorch] += delta;
        return { state: new Map(sd).set(name, { ...stored, data }), value: data[flatTorch] };
      };
      const [up, down] = [shifted(1e-5), shifted(-1e-5)];
      const fd = (objective64(up.state) - objective64(down.state)) / (up.value - down.value);
      expect(Math.abs(fd), name).toBeGreaterThan(1e-2);
      expect(Math.abs(g[at] - fd), `${name}: ${g[at]} vs ${fd}`).toBeLessThan(2e-5 * Math.abs(fd));
    }
    for (const g of Object.values(grads)) g.dispose();
    dispose();
  });

  it('SGD steps leak no tensors (GroupNorm model, nothing frozen)', async () => {
    await activate(backend);
    const spec: RefSpec = { base: 8, fpnChannels: 8, gnGroups: 4, depth: 18, layout: 'torchvision', norm: 'gn', p6From: 'c5', withRunningStats: false };
    const { model, objective, dispose } = setup(spec, { depth: 18, widthMultiplier: 0.125, fpnChannels: 8, norm: 'gn', gnGroups: 4, freezeAt: 0, p6From: 'c5' }, 22);
    const optimizer = tf.train.sgd(1e-4);
    const step = () => {
      const loss = optimizer.minimize(objective, true, model.trainableVariables());
      loss?.dispose();
    };
    step();
    const afterOne = tf.memory().numTensors;
    step();
    step();
    expect(tf.memory().numTensors).toBe(afterOne);
    optimizer.dispose();
    dispose();
  });
});
