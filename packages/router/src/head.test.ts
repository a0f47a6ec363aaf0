import { readFileSync } from 'node:fs';
import { parseSafetensors, type StoredTensor } from '@dynhead/safetensors';
import { sumTensors } from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { budgetLoss, flopsReport } from './budget';
import { conventionalHead, dynamicHead, fixHead, type HeadConfig } from './config';
import { DynamicHead } from './dynamic-head';
import { ForwardContext } from './forward-context';
import { ParamScope } from './param-scope';
import { SpatialGate } from './spatial-gate';

type Shape4 = [number, number, number, number];

function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const r = seededRandom(seed);
  return tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r(-scale, scale)), shape);
}

/** Random values for every weight (in torch layout), so references do not rest on the init. */
function randomStateDict(head: DynamicHead, seed: number): Map<string, StoredTensor> {
  const r = seededRandom(seed);
  const out = new Map<string, StoredTensor>();
  for (const [name, p] of head.parameters()) {
    const s = p.variable.shape as number[];
    const torch = p.layout === 'conv' ? [s[3], s[2], s[0], s[1]] : p.layout === 'depthwise' ? [s[2], 1, s[0], s[1]] : s;
    const n = s.reduce((a, b) => a * b, 1);
    const centre = name.endsWith('norm.weight') || /\.1\.weight$/.test(name) || name.endsWith('scale') ? 1 : 0;
    out.set(name, { dtype: 'float32', shape: torch, data: Float32Array.from({ length: n }, () => centre + r(-0.5, 0.5)) });
  }
  return out;
}

// float64 references, NHWC, filters [kh,kw,in,out].
type Map64 = { data: Float64Array; shape: Shape4 };
function conv64(x: Map64, w: Float32Array, cout: number, bias?: Float32Array): Map64 {
  const [b, h, wd, cin] = x.shape;
  const out = new Float64Array(b * h * wd * cout);
  for (let n = 0; n < b; n++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < wd; j++)
        for (let co = 0; co < cout; co++) {
          let s = bias ? bias[co] : 0;
          for (let kh = 0; kh < 3; kh++)
            for (let kw = 0; kw < 3; kw++) {
              const ii = i + kh - 1;
              const jj = j + kw - 1;
              if (ii < 0 || jj < 0 || ii >= h || jj >= wd) continue;
              for (let ci = 0; ci < cin; ci++) s += x.data[((n * h + ii) * wd + jj) * cin + ci] * w[((kh * 3 + kw) * cin + ci) * cout + co];
            }
          out[((n * h + i) * wd + j) * cout + co] = s;
        }
  return { data: out, shape: [b, h, wd, cout] };
}
function groupNormRelu64(x: Map64, groups: number, gamma: Float32Array, beta: Float32Array): Map64 {
  const [b, h, w, c] = x.shape;
  const cg = c / groups;
  const out = new Float64Array(x.data.length);
  for (let n = 0; n < b; n++)
    for (let g = 0; g < groups; g++) {
      let sum = 0;
      let sq = 0;
      const m = h * w * cg;
      for (let p = 0; p < h * w; p++) for (let k = 0; k < cg; k++) sum += x.data[(n * h * w + p) * c + g * cg + k];
      const mean = sum / m;
      for (let p = 0; p < h * w; p++) for (let k = 0; k < cg; k++) sq += (x.data[(n * h * w + p) * c + g * cg + k] - mean) ** 2;
      const inv = 1 / Math.sqrt(sq / m + 1e-5);
      for (let p = 0; p < h * w; p++)
        for (let k = 0; k < cg; k++) {
          const i = (n * h * w + p) * c + g * cg + k;
          out[i] = Math.max(0, (x.data[i] - mean) * inv * gamma[g * cg + k] + beta[g * cg + k]);
        }
    }
  return { data: out, shape: x.shape };
}
async function map64(t: tf.Tensor): Promise<Map64> {
  return { data: Float64Array.from(await t.data()), shape: t.shape as Shape4 };
}
async function weight(head: DynamicHead, name: string): Promise<Float32Array> {
  const v = head.namedWeights().get(name);
  if (!v) throw new Error(`no weight ${name}`);
  return (await v.data()) as Float32Array;
}

const tiny: Partial<HeadConfig> = { channels: 4, gnGroups: 2, numClasses: 2, strides: [8, 16] };
const tinyFeatures = (batch: number, seed: number) =>
  [
    [batch, 3, 4, 4],
    [batch, 2, 2, 4],
  ].map((s, l) => randomTensor(s, seed + l) as tf.Tensor4D);

describe('budget and FLOPs report', () => {
  it('budgetLoss is lambda * mean(soft / full), flopsReport uses used / 2^30', async () => {
    await activate('cpu');
    const cost = { soft: tf.tensor1d([2, 4]), used: tf.tensor1d([3, 5]), full: tf.tensor1d([8, 8]) };
    expect(await budgetLoss(cost, 0.5).data()).toEqual(new Float32Array([0.1875]));
    tf.dispose([cost.soft, cost.used, cost.full]);
    const g = 2 ** 30;
    expect(flopsReport({ used: [1 * g, 3 * g, 2 * g], full: [4 * g, 4 * g, 4 * g] })).toEqual({ avg: 2, min: 1, max: 3, fullAvg: 4, images: 3 });
    expect(() => flopsReport({ used: [], full: [] })).toThrow(/no images/);
    expect(() => budgetLoss({ soft: tf.zeros([1]), used: tf.zeros([1]), full: tf.ones([1]) } as never, -1)).toThrow(/lambda/);
  });
});

describe('configuration and weights interop', () => {
  it('rejects bad configs and features with a message naming the field', async () => {
    await activate('cpu');
    expect(() => new DynamicHead({ ...dynamicHead, channels: 30 })).toThrow(/gnGroups: must divide channels/);
    expect(() => new DynamicHead({ ...dynamicHead, gate: { kind: 'softmax', tau: 0 } })).toThrow(/softmax/);
    const head = new DynamicHead({ ...dynamicHead, ...tiny, blocks: 1 });
    const bad = [tf.zeros([1, 3, 4, 4]), tf.zeros([1, 2, 2, 5])] as tf.Tensor4D[];
    expect(() => head.apply(bad)).toThrow(/features\[1\] must be NHWC \[1,H,W,4\], got \[1,2,2,5\]/);
    expect(() => head.apply([bad[0]])).toThrow(/expected 2 feature maps/);
    tf.dispose(bad);
    head.dispose();
  });

  it('loads the official state_dict and saves it back bit for bit; names missing, unknown and mis-shaped tensors', async () => {
    await activate('cpu');
    const path = new URL('../../../../shared/golden/fcos-dynhead-d4-c64.safetensors', import.meta.url);
    const file = parseSafetensors(new Uint8Array(readFileSync(path)), 'd4');
    const head = new DynamicHead({ ...dynamicHead, channels: 64, blocks: 4 });
    head.loadStateDict(file, 'param.');
    const saved = await head.stateDict();
    expect(saved.size).toBe([...file.tensors.keys()].filter((k) => k.startsWith('param.')).length);
    for (const [name, t] of saved) {
      const want = file.tensors.get(`param.${name}`) as StoredTensor;
      expect(t.shape).toEqual(want.shape);
      expect(t.data).toEqual(want.data);
    }
    const broken = new Map(saved);
    broken.delete('cls_score.bias');
    broken.set('cls_subnet.9.scale_weight', saved.get('cls_subnet.0.scale_weight') as StoredTensor);
    broken.set('bbox_pred.weight', { dtype: 'float32', shape: [4, 64, 1, 1], data: new Float32Array(256) });
    expect(() => head.loadStateDict(broken, '', { source: 'ckpt.safetensors' })).toThrow(
      /ckpt\.safetensors: .*missing 1: cls_score\.bias; unknown 1: cls_subnet\.9\.scale_weight; wrong shape 1: bbox_pred\.weight is \[4,64,1,1\], expected \[4,64,3,3\]/,
    );
    head.dispose();
  });
});

describe.each(TEST_BACKENDS)('head building blocks on %s', (backend) => {
  it('the conventional head equals a float64 reference (conv + GN + ReLU towers, predictors, scales, strides)', async () => {
    await activate(backend);
    const config: HeadConfig = { ...conventionalHead, ...tiny, blocks: 2 };
    const head = new DynamicHead(config);
    head.loadStateDict(randomStateDict(head, 3));
    const feats = tinyFeatures(2, 10);
    const out = head.apply(feats);
    for (let l = 0; l < 2; l++) {
      const towers: Record<string, Map64> = {};
      for (const tower of ['cls_subnet', 'bbox_subnet']) {
        let y = await map64(feats[l]);
        for (let i = 0; i < 2; i++) {
          y = conv64(y, await weight(head, `${tower}.${3 * i}.weight`), 4, await weight(head, `${tower}.${3 * i}.bias`));
          y = groupNormRelu64(y, 2, await weight(head, `${tower}.${3 * i + 1}.weight`), await weight(head, `${tower}.${3 * i + 1}.bias`));
        }
        towers[tower] = y;
      }
      const logits = conv64(towers.cls_subnet, await weight(head, 'cls_score.weight'), 2, await weight(head, 'cls_score.bias'));
      const pred = conv64(towers.bbox_subnet, await weight(head, 'bbox_pred.weight'), 4, await weight(head, 'bbox_pred.bias'));
      const scale = (await weight(head, `scales.${l}.scale`))[0];
      const box = pred.data.map((v) => Math.max(0, v * scale) * config.strides[l]);
      const ctr = conv64(towers.bbox_subnet, await weight(head, 'centerness.weight'), 1, await weight(head, 'centerness.bias'));
      const tol = backend === 'webgpu' ? 1e-4 : 1e-5;
      expect(relL2(await out.logits[l].data(), logits.data)).toBeLessThan(tol);
      expect(relL2(await out.bboxReg[l].data(), box)).toBeLessThan(tol);
      expect(relL2(await out.centerness[l].data(), ctr.data)).toBeLessThan(tol);
    }
    // Every conv on every pixel: 2 towers x 2 convs x (C*C*9 + C) x (12 + 4) pixels.
    expect(Array.from(await out.cost.used.data())).toEqual([2 * 2 * 148 * 16, 2 * 2 * 148 * 16]);
    tf.dispose([...feats, ...out.logits, ...out.bboxReg, ...out.centerness, out.cost.soft, out.cost.used, out.cost.full]);
    head.dispose();
  });

  it('the Fix head equals the dynamic head with every gate at 1 and scale_weight 1; it charges every pixel', async () => {
    await activate(backend);
    const fix = new DynamicHead({ ...fixHead, ...tiny, blocks: 1 });
    const gated = new DynamicHead({ ...dynamicHead, ...tiny, blocks: 1, gate: { kind: 'sigmoid', tau: 0 } });
    const weights = randomStateDict(gated, 4);
    for (const [name, t] of weights) {
      if (name.endsWith('gate_conv.weight')) t.data.fill(0);
      if (name.endsWith('gate_conv.bias')) t.data.fill(60); // sigmoid(60) is 1 in float32
      if (name.endsWith('scale_weight')) t.data.fill(1);
    }
    gated.loadStateDict(weights);
    fix.loadStateDict(new Map([...weights].filter(([n]) => fix.namedWeights().has(n))));
    const feats = tinyFeatures(2, 20);
    const a = fix.apply(feats);
    const b = gated.apply(feats);
    for (let l = 0; l < 2; l++) expect(relL2(await a.logits[l].data(), await b.logits[l].data())).toBeLessThan(1e-6);
    // Per block and tower: two depthwise paths (C*9 + C) and two convs (C*C*9 + C) on 12 + 4 pixels.
    const full = 2 * (2 * (4 * 9 + 4) + 2 * (4 * 4 * 9 + 4)) * 16;
    for (const k of ['soft', 'used', 'full'] as const) expect(Array.from(await a.cost[k].data())).toEqual([full, full]);
    expect(Object.keys(a.gates)).toEqual([]);
    for (const o of [a, b]) {
      tf.dispose([...o.logits, ...o.bboxReg, ...o.centerness, o.cost.soft, o.cost.used, o.cost.full]);
      for (const g of Object.values(o.gates)) tf.dispose(g);
    }
    tf.dispose(feats);
    fix.dispose();
    gated.dispose();
  });

  it('coarse gates give one factor per image: the activation of the mean gate logit (float64 reference)', async () => {
    await activate(backend);
    const registry = new Map();
    const gate = new SpatialGate(ParamScope.root(registry, 1).child('gate'), 4, { kind: 'geReTanH', tau: 1.5, coarse: true });
    tf.tidy(() => {
      registry.get('gate.gate_conv.weight').variable.assign(randomTensor([3, 3, 4, 1], 5));
      registry.get('gate.gate_conv.bias').variable.assign(tf.tensor1d([0.8]));
    });
    const x = randomTensor([2, 3, 4, 4], 6) as tf.Tensor4D;
    const g = gate.apply(x);
    const logits = conv64(await map64(x), (await registry.get('gate.gate_conv.weight').variable.data()) as Float32Array, 1, new Float32Array([0.8]));
    const got = await g.data();
    for (let n = 0; n < 2; n++) {
      const mean = logits.data.slice(n * 12, n * 12 + 12).reduce((a, b) => a + b, 0) / 12;
      const want = Math.max(0, (Math.tanh(mean - 1.5) + Math.tanh(1.5)) / (1 + Math.tanh(1.5)));
      for (let p = 0; p < 12; p++) expect(Math.abs(got[n * 12 + p] - want)).toBeLessThan(1e-5);
    }
    tf.dispose([x, g]);
    for (const p of registry.values()) p.variable.dispose();
  });

  it("the budget gradient reaches the scale paths' gates only with budgetOnScalePaths (official: detached)", async () => {
    await activate(backend);
    for (const budgetOnScalePaths of [false, true]) {
      const head = new DynamicHead({ ...dynamicHead, ...tiny, blocks: 1, budgetOnScalePaths }, 2);
      const feats = tinyFeatures(1, 30);
      const named = head.namedWeights();
      const targets = ['cls_subnet.0.dynamic_convs.0.gate.gate_conv.bias', 'cls_subnet.0.depth_module.gate.gate_conv.bias'];
      const { grads, value } = tf.variableGrads(() => {
        const out = head.apply(feats, 'train', { recordGates: false });
        return budgetLoss(out.cost, 1);
      }, targets.map((t) => named.get(t) as tf.Variable));
      const [scalePath, depth] = await Promise.all(targets.map(async (t) => (await grads[(named.get(t) as tf.Variable).name].data())[0]));
      // Gates start at 0.99 < 1, so more gate always costs more: positive gradients where charged.
      expect(depth).toBeGreaterThan(0);
      if (budgetOnScalePaths) expect(scalePath).toBeGreaterThan(0);
      else expect(scalePath).toBe(0);
      tf.dispose([value, ...Object.values(grads), ...feats]);
      head.dispose();
    }
  });

  it('20 training steps of the head alone leak no tensors (budget loss included)', async () => {
    await activate(backend);
    // One image, two small levels: SwiftShader runs every op of 20 steps in about a second each.
    const head = new DynamicHead({ ...dynamicHead, ...tiny, blocks: 1 }, 7);
    const feats = tinyFeatures(1, 40);
    const optimizer = tf.train.sgd(0.01);
    const step = () =>
      tf.tidy(() => {
        const loss = optimizer.minimize(() => {
          const out = head.apply(feats, 'train', { recordGates: false });
          const task = sumTensors([...out.logits, ...out.bboxReg, ...out.centerness].map((o) => tf.mean(tf.square(o))));
          return tf.add(task, budgetLoss(out.cost, 0.1)) as tf.Scalar;
        }, true);
        return loss as tf.Scalar;
      });
    const first = step();
    const after1 = tf.memory().numTensors;
    first.dispose();
    let last = first;
    for (let i = 1; i < 20; i++) {
      last.dispose();
      last = step();
    }
    expect(tf.memory().numTensors).toBe(after1);
    expect(Number.isFinite((await last.data())[0])).toBe(true);
    last.dispose();
    optimizer.dispose();
    tf.dispose(feats);
    head.dispose();
  });

  it('a scale path whose gate is off everywhere adds exactly nothing at inference (skipped where masks are read back)', async () => {
    await activate(backend);
    // A: every scale-path gate off. B: the same head with those gates on but scale_weight 0, so the
    // official formula sum * 0 + x * output_weight computes the paths and multiplies them away.
    const variant = (scaleGateBias: number, scaleWeight: number) => {
      const head = new DynamicHead({ ...dynamicHead, ...tiny, blocks: 2 }, 9);
      // a fresh map each time: the cpu backend keeps the arrays it is given, so edits would reach A
      const weights = randomStateDict(head, 12);
      for (const [name, t] of weights) {
        if (/dynamic_convs\.\d\.gate\.gate_conv\.bias$/.test(name)) t.data.fill(scaleGateBias);
        else if (name.endsWith('depth_module.gate.gate_conv.bias')) t.data.fill(0.05);
        else if (name.endsWith('scale_weight')) t.data.fill(scaleWeight);
      }
      head.loadStateDict(weights);
      return head;
    };
    const [a, b] = [variant(-50, 0.7), variant(50, 0)];
    const feats = tinyFeatures(2, 51);
    const before = tf.memory().numTensors;
    const outA = await a.infer(feats, { recordGates: false });
    const outB = await b.infer(feats, { recordGates: false });
    for (let l = 0; l < feats.length; l++) {
      expect(relL2(await outA.logits[l].data(), await outB.logits[l].data()), `P${l + 3}`).toBeLessThan(1e-6);
      expect(relL2(await outA.bboxReg[l].data(), await outB.bboxReg[l].data())).toBeLessThan(1e-6);
    }
    // the skipped paths still count in full, not in used
    expect(Array.from(await outA.cost.full.data())).toEqual(Array.from(await outB.cost.full.data()));
    const [usedA, usedB] = [await outA.cost.used.data(), await outB.cost.used.data()];
    for (let n = 0; n < 2; n++) expect(usedA[n]).toBeLessThan(usedB[n]);
    for (const out of [outA, outB]) tf.dispose([...out.logits, ...out.bboxReg, ...out.centerness, out.cost.soft, out.cost.used, out.cost.full]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(feats);
    a.dispose();
    b.dispose();
  });

  it('inference mode is leak-free and batched: each image of a batch equals that image alone', async () => {
    await activate(backend);
    const head = new DynamicHead({ ...dynamicHead, ...tiny, blocks: 2 }, 9);
    const weights = randomStateDict(head, 11);
    for (const [name, t] of weights) if (name.endsWith('gate_conv.bias')) t.data.fill(0.05); // about half the gates off
    head.loadStateDict(weights);
    const feats = tinyFeatures(2, 50);
    const before = tf.memory().numTensors;
    const batch = await head.infer(feats, { recordGates: false });
    for (let n = 0; n < 2; n++) {
      const one = feats.map((f) => tf.slice(f, [n, 0, 0, 0], [1, -1, -1, -1]));
      const alone = await head.infer(one, { recordGates: false });
      for (let l = 0; l < 2; l++) {
        const part = tf.slice(batch.logits[l], [n, 0, 0, 0], [1, -1, -1, -1]);
        expect(relL2(await part.data(), await alone.logits[l].data())).toBeLessThan(1e-5);
        part.dispose();
      }
      expect((await alone.cost.used.data())[0]).toBe((await batch.cost.used.data())[n]);
      tf.dispose([...one, ...alone.logits, ...alone.bboxReg, ...alone.centerness, alone.cost.soft, alone.cost.used, alone.cost.full]);
    }
    tf.dispose([...batch.logits, ...batch.bboxReg, ...batch.centerness, batch.cost.soft, batch.cost.used, batch.cost.full]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(feats);
    head.dispose();
  });
});

describe('ForwardContext', () => {
  it('sums charges per image', async () => {
    await activate('cpu');
    const ctx = new ForwardContext('train', false, false);
    const gate = tf.tensor4d([0, 0.5, 1, 0, 0.25, 0, 0, 0], [2, 2, 2, 1]);
    ctx.charge(gate, 10);
    ctx.chargeDense(gate, 3);
    const total = ctx.totalCost(2);
    expect(Array.from(await total.soft.data())).toEqual([15 + 12, 2.5 + 12]);
    expect(Array.from(await total.used.data())).toEqual([20 + 12, 10 + 12]);
    expect(Array.from(await total.full.data())).toEqual([40 + 12, 40 + 12]);
    ctx.disposeCharges();
    tf.dispose([gate, total.soft, total.used, total.full]);
  });

  it.each(TEST_BACKENDS)('train on %s: the used terms of all gated charges come from one gateSums kernel, and keep the soft terms\' gradient', async (backend) => {
    await activate(backend);
    const rand = seededRandom(3);
    // gates with exact zeros (as GeReTanH gives), 8 maps of 2 images, 3x4 pixels
    const gates = Array.from({ length: 8 }, () => tf.tensor4d(Array.from({ length: 24 }, () => Math.max(0, rand(-0.5, 1))), [2, 3, 4, 1]));
    const units = [1, 2, 3, 4, 5, 6, 7, 8];
    const before = tf.memory().numTensors;
    let total = undefined as unknown as ReturnType<ForwardContext['totalCost']>;
    // in a tidy, as the head's blocks charge (which then disposes the pooled map)
    const info = await tf.profile(() =>
      tf.tidy(() => {
        const ctx = new ForwardContext('train', false, false);
        for (const [j, g] of gates.entries()) ctx.charge(g, units[j], { pooled: j === 3 });
        ctx.chargeDense(gates[0], 100);
        total = ctx.totalCost(2);
        ctx.disposeCharges();
        return [total.soft, total.used, total.full];
      }),
    );
    const names = info.kernels.map((k) => k.name);
    expect(names.filter((n) => n === 'DynheadGateSums')).toHaveLength(1);
    expect(names).not.toContain('Abs');
    // references: pooled map of gate 3 by hand (3x3 'same' max), counts and sums per image
    const pooled = (v: Float32Array, b: number) =>
      Array.from({ length: 12 }, (_, i) => {
        const [y, x] = [Math.floor(i / 4), i % 4];
        let m = -Infinity;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) if (y + dy >= 0 && y + dy < 3 && x + dx >= 0 && x + dx < 4) m = Math.max(m, v[b * 12 + (y + dy) * 4 + x + dx]);
        return m;
      });
    const want = { soft: [1200, 1200], used: [1200, 1200], full: [0, 0] };
    for (let j = 0; j < gates.length; j++) {
      const v = (await gates[j].data()) as Float32Array;
      for (let b = 0; b < 2; b++) {
        const map = j === 3 ? pooled(v, b) : Array.from(v.slice(b * 12, b * 12 + 12));
        want.soft[b] += units[j] * map.reduce((a, x) => a + x, 0);
        want.used[b] += units[j] * map.filter((x) => x !== 0).length;
        want.full[b] += units[j] * 12;
      }
    }
    want.full = want.full.map((f) => f + 1200);
    expect(relL2(await total.soft.data(), want.soft)).toBeLessThan(1e-6);
    expect(Array.from(await total.used.data())).toEqual(want.used);
    expect(Array.from(await total.full.data())).toEqual(want.full);
    tf.dispose([total.soft, total.used, total.full]);
    expect(tf.memory().numTensors).toBe(before);
    // the soft term's gradient in each gate is its unit (gate 3's through the max-pool)
    const grads = tf.grads((...gs: tf.Tensor[]) => {
      const ctx = new ForwardContext('train', false, false);
      for (const [j, g] of gs.entries()) ctx.charge(g as tf.Tensor4D, units[j], { pooled: j === 3 });
      const t = ctx.totalCost(2);
      ctx.disposeCharges();
      tf.dispose([t.used, t.full]);
      return tf.sum(t.soft);
    })(gates);
    expect(Array.from(await grads[0].data())).toEqual(new Array(24).fill(1));
    expect(Array.from(await grads[7].data())).toEqual(new Array(24).fill(8));
    tf.dispose([...grads, ...gates]);
  });

  it.each(['train', 'infer'] as const)('%s: a pooled charge is the charge of the gate\'s 3x3 max-pool', async (mode) => {
    await activate('cpu');
    const ctx = new ForwardContext(mode, false, false);
    // image 0: one gate pixel of 0.5 in a 3x3 map pools to 0.5 on all 9; image 1: 0.25 at a corner pools to 4 pixels
    const gate = tf.tensor4d([0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0.25, 0, 0, 0, 0, 0, 0, 0, 0], [2, 3, 3, 1]);
    ctx.charge(gate, 10, { pooled: true });
    const total = ctx.totalCost(2);
    expect(Array.from(await total.soft.data())).toEqual([45, 10]);
    expect(Array.from(await total.used.data())).toEqual([90, 40]);
    expect(Array.from(await total.full.data())).toEqual([90, 90]);
    ctx.disposeCharges();
    tf.dispose([gate, total.soft, total.used, total.full]);
  });
});
