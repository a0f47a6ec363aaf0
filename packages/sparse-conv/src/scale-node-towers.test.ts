// The same scale node of two towers at once (a block of each): on webgpu in a GPU's tuning one set
// of three dispatches for both, each tower's gates and blend against float64 references.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { activate, relL2, seededRandom } from '../../../test/backends';
import { concatRows, packPyramid, type PyramidLayout, pyramidRows, type ScaleNodeWeights, scaleNodeTowers, setWebGPUTuning } from './index';
import { refBlendLevel, refConv, refGroupNorm } from './reference.test-util';
import { BACKENDS_WEBGPU_FIRST, DOUBLED_RELU, PYRAMID_SIZES, type ScalePathValues, scalePathValues } from './pyramid-fixtures.test-util';
import { programsOf } from './webgpu-programs.test-util';

const BACKENDS = BACKENDS_WEBGPU_FIRST;
const SIZES = PYRAMID_SIZES;
const ACTIVATION = DOUBLED_RELU;

interface TowerValues {
  paths: [ScalePathValues, ScalePathValues];
  ow: number;
  sw: number;
}

function towerValues(rand: (lo?: number, hi?: number) => number, c: number): TowerValues {
  return { paths: [scalePathValues(rand, c), scalePathValues(rand, c)], ow: rand(0.5, 1.5), sw: rand(0.5, 1.5) };
}

function weightsOf(v: TowerValues, c: number, groups: number): ScaleNodeWeights {
  const layer = (p: ScalePathValues) => ({ filter: tf.tensor4d(p.filter, [3, 3, c, 1]), bias: tf.tensor1d(p.bias), norm: { groups, gamma: tf.tensor1d(p.gamma), beta: tf.tensor1d(p.beta) } });
  const gate = (p: ScalePathValues) => ({ filter: tf.tensor4d(p.gateFilter, [3, 3, c, 1]), bias: tf.tensor1d([p.gateBias]) });
  return { finer: layer(v.paths[0]), coarser: layer(v.paths[1]), gates: [gate(v.paths[0]), gate(v.paths[1])], xWeight: tf.tensor1d([v.ow]), sourceWeight: tf.tensor1d([v.sw]) };
}

function tensorsOf(w: ScaleNodeWeights): tf.Tensor[] {
  return [w.xWeight, w.sourceWeight, ...[w.finer, w.coarser].flatMap((p) => [p.filter, p.bias, p.norm.gamma, p.norm.beta]), ...w.gates.flatMap((g) => [g.filter, g.bias])];
}

describe.each(BACKENDS)('a scale node of two towers at once on %s', (backend) => {
  afterEach(() => setWebGPUTuning(undefined));

  // 8 channels in 2 groups: a group's channels in whole quads, so the blend can work out the
  // paths' GroupNorm from their sums (blendCombines); 12 cannot, nor SwiftShader's form: a combine
  // program. SwiftShader's form keeps the towers apart unless told (its head does: knob mergeTowers)
  it.each([
    ['gpu', 8, 'the features, read by both', {}],
    ['gpu', 8, 'both towers stacked, after other rows', {}],
    ['gpu', 12, 'both towers stacked, after other rows', {}],
    ['swiftshader', 8, 'the features, read by both', {}],
    ['swiftshader', 8, 'the features, read by both', { mergeScaleNodes: true }],
    ['gpu', 8, 'both towers stacked, after other rows', { mergeScaleNodes: false }],
    ['gpu', 8, 'both towers stacked, after other rows', { pathGatesWithPaths: false }],
  ] as const)('as on %s, %i channels, from %s (knobs %j): both towers\' gates and blends equal float64 references', async (tuning, c, input, knobs) => {
    await activate(backend);
    setWebGPUTuning(tuning, knobs);
    const rand = seededRandom(211);
    const [b, groups] = [2, 2];
    const shapes = SIZES.map(([h, w]) => [b, h, w, c] as [number, number, number, number]);
    const L = SIZES.length;
    const shared = input.startsWith('the features');
    // each tower's input, level by level (one for both when they read the features)
    const inputs = (shared ? [0] : [0, 1]).map(() => shapes.map((sh) => Array.from({ length: sh.reduce((a, v) => a * v, 1) }, () => rand(-1, 1))));
    const towerInput = (t: number) => inputs[shared ? 0 : t];
    const values = [towerValues(rand, c), towerValues(rand, c)];
    const weights = values.map((v) => weightsOf(v, c, groups)) as [ScaleNodeWeights, ScaleNodeWeights];
    const packed = inputs.map((xs) => tf.tidy(() => packPyramid(xs.map((v, l) => tf.tensor4d(v, shapes[l])))));
    const layout: PyramidLayout = { batch: b, sizes: SIZES };
    const P = pyramidRows(layout);
    const head = tf.fill([5, c], 9) as tf.Tensor2D;
    const x = shared ? packed[0] : concatRows([head, ...packed]);
    const firstRows: [number, number] = shared ? [0, 0] : [5, 5 + P];
    // a first call packs the towers' weights (kept by the backend, once per weight version)
    tf.dispose(Object.values(scaleNodeTowers(x, layout, weights, ACTIVATION, firstRows)));
    const before = tf.memory().numTensors;
    const { value: out, kinds } = await programsOf(async () => scaleNodeTowers(x, layout, weights, ACTIVATION, firstRows));
    expect(tf.memory().numTensors, 'the output and the gates').toBe(before + 2);
    // a GPU's tuning merges them (knob mergeScaleNodes), with the paths' gates computed along (pathGatesWithPaths)
    const k: { mergeScaleNodes?: boolean; pathGatesWithPaths?: boolean } = knobs;
    const merged = (k.mergeScaleNodes ?? tuning === 'gpu') && k.pathGatesWithPaths !== false;
    const sums = tuning === 'gpu' && c === 8;
    if (kinds) {
      const count = [...kinds.values()].reduce((a, v) => a + v, 0);
      expect(kinds.get('dynheadBlendPyramid'), 'one blend, or one a tower').toBe(merged ? 1 : 2);
      // merged: the paths with their gates, their statistics and the blend, and the combine unless the blend works out their norm
      if (merged) expect([kinds.get('dynheadScalePathsGates'), kinds.get('dynheadGroupNormCombine') ?? 0, count], `programs: ${JSON.stringify([...kinds])}`).toEqual([1, sums ? 0 : 1, sums ? 3 : 4]);
    }
    expect(out.output.shape).toEqual([2 * P, c]);
    expect(out.gates.shape).toEqual([4 * P, 1]);
    const [gotGates, gotY] = [await out.gates.data(), await out.output.data()];
    const tol = backend === 'webgpu' ? 1e-4 : 1e-5;
    for (const t of [0, 1]) {
      const xs = towerInput(t);
      const v = values[t];
      const refGate = (s: number, l: number) => refConv({ x: xs[l], shape: shapes[l], filter: v.paths[s].gateFilter, k: 3, cout: 1 }).map((g) => 2 * Math.max(g + Math.fround(v.paths[s].gateBias), 0));
      const path = (s: number, l: number) => {
        const p = v.paths[s];
        return refGroupNorm(refConv({ x: xs[l], shape: shapes[l], filter: p.filter, k: 3, cout: c, depthwise: true, bias: p.bias }), shapes[l], groups, p.gamma, p.beta);
      };
      // the gates as this backend computed them (the blend is under test, the kink's side is the gates' test)
      const gateOf: number[][][] = [[], []];
      let at = 0;
      for (let l = 0; l < L; l++) {
        const pixels = b * SIZES[l][0] * SIZES[l][1];
        for (const s of [0, 1]) {
          const from = (2 * t + s) * P + at;
          const got = gotGates.slice(from, from + pixels);
          expect(relL2(got, refGate(s, l)), `tower ${t}, gate ${s}, level ${l}`).toBeLessThan(tol);
          gateOf[s].push(Array.from(got));
        }
        at += pixels;
      }
      let atY = t * P * c;
      for (let l = 0; l < L; l++) {
        const size = b * SIZES[l][0] * SIZES[l][1] * c;
        const want = refBlendLevel(l, { shapes, xs, path, gates: gateOf, ow: v.ow, sw: v.sw });
        expect(relL2(gotY.slice(atY, atY + size), want), `tower ${t}, blend, level ${l}`).toBeLessThan(tol);
        atY += size;
      }
    }
    tf.dispose([out.output, out.gates, head, ...packed, ...(x === packed[0] ? [] : [x]), ...weights.flatMap(tensorsOf)]);
  });

  it('names the tower and the argument at fault', async () => {
    await activate(backend);
    const rand = seededRandom(5);
    const [b, c] = [1, 8];
    const layout = { batch: b, sizes: SIZES };
    const P = pyramidRows(layout);
    const weights = [weightsOf(towerValues(rand, c), c, 2), weightsOf(towerValues(rand, c), c, 2)] as [ScaleNodeWeights, ScaleNodeWeights];
    const x = tf.zeros([2 * P, c]) as tf.Tensor2D;
    expect(() => scaleNodeTowers(x, layout, weights, ACTIVATION, [0, P + 1])).toThrow(`scaleNodeTowers (tower 1): x has shape [${2 * P},${c}]; the pyramid's layout needs [${P},${c}] from row ${P + 1}`);
    const wide = { ...weights[0], sourceWeight: tf.tensor1d([1, 2]) };
    expect(() => scaleNodeTowers(x, layout, [wide, weights[1]], ACTIVATION, [0, P])).toThrow('scaleNodeTowers: nodes[0].xWeight [1] and sourceWeight [2] must hold one value each');
    const badGate = { ...weights[1], gates: [weights[1].gates[0], { ...weights[1].gates[1], bias: weights[1].finer.bias }] as ScaleNodeWeights['gates'] };
    expect(() => scaleNodeTowers(x, layout, [weights[0], badGate], ACTIVATION, [0, P])).toThrow(`scaleNodeTowers (tower 1): gates[1].bias must hold one value, got shape [${c}]`);
    tf.dispose([x, wide.sourceWeight, ...weights.flatMap(tensorsOf)]);
  });
});
