// Two towers' maps stacked as levels of one pyramid (stackedLayout(layout, layout)), each program
// taking a tower's weights by the run it works on: the first step of running a head's two towers
// in one set of dispatches (benchmarks/README.md, "The largest lever left").
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../../test/backends';
import { concatRows, type GroupNormParams, packPyramid, pyramidLayoutOf, pyramidRows, setWebGPUTuning, sparseConvPairPyramid, sparseConvPairTowers, splitRows, stackedLayout, type TowerConvs } from '../index';
import { refConv } from '../reference.test-util';
import { programsOf } from '../webgpu-programs.test-util';
import { ACTIVATED_GATE_CONV, type ActivatedGateConvAttrs } from './kernel-names';

// widths that end a thread's run of 4 or 8 pixels inside its level
const SIZES: [number, number][] = [
  [7, 10],
  [4, 5],
  [2, 3],
];

/** 2 * max(v, 0): a gate-like activation with exact zeros. */
const ACTIVATION = 'fn gateActivation(v : f32) -> f32 {\n  return 2.0 * max(v, 0.0);\n}';

interface Tower {
  levels: number[][];
  maps: tf.Tensor4D[];
  filter: number[];
  bias: number;
}

function tower(rand: (lo?: number, hi?: number) => number, b: number, c: number, bias: number): Tower {
  const levels = SIZES.map(([h, w]) => Array.from({ length: b * h * w * c }, () => rand(-1, 1)));
  return { levels, maps: levels.map((x, l) => tf.tensor4d(x, [b, SIZES[l][0], SIZES[l][1], c])), filter: Array.from({ length: 9 * c }, () => rand(-0.5, 0.5)), bias };
}

describe.each(TEST_BACKENDS.filter((b) => b === 'webgpu'))('two towers stacked as levels on %s', (backend) => {
  afterEach(() => setWebGPUTuning(undefined));

  it.each([
    ['gpu', 1],
    ['gpu', 8],
    ['swiftshader', 1],
  ] as const)("the gate conv (as on %s, %i lanes) takes each run's tower's filter and bias: one dispatch, both towers' float64 gates", async (kind, gateLanes) => {
    await activate(backend);
    setWebGPUTuning(kind, { gateLanes });
    const rand = seededRandom(131);
    const [b, c] = [2, 12];
    const towers = [tower(rand, b, c, 0.1), tower(rand, b, c, -0.05)];
    const layout = pyramidLayoutOf(towers[0].maps);
    const packed = towers.map((t) => packPyramid(t.maps));
    const x = concatRows(packed);
    const [f0, f1] = towers.map((t) => tf.tensor4d(t.filter, [3, 3, c, 1]));
    const [b0, b1] = towers.map((t) => tf.tensor1d([t.bias]));
    const attrs: ActivatedGateConvAttrs = { activation: ACTIVATION, pyramid: stackedLayout(layout, layout), towerRuns: SIZES.length * b };
    const { value: gate, kinds } = await programsOf(async () => tf.engine().runKernel(ACTIVATED_GATE_CONV, { x, filter: f0, bias: b0, filter1: f1, bias1: b1 }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D);
    expect(kinds).toEqual(new Map([['dynheadGateConv3x3', 1]]));
    const rows = pyramidRows(layout);
    expect(gate.shape).toEqual([2 * rows, 1]);
    const got = await gate.data();
    towers.forEach((t, i) => {
      const want = SIZES.flatMap(([h, w], l) => Array.from(refConv({ x: t.levels[l], shape: [b, h, w, c], filter: t.filter, k: 3, cout: 1 }), (v) => 2 * Math.max(v + Math.fround(t.bias), 0)));
      expect(relL2(got.slice(i * rows, (i + 1) * rows), want), `tower ${i}`).toBeLessThan(1e-5);
    });
    tf.dispose([gate, x, ...packed, f0, f1, b0, b1, ...towers.flatMap((t) => t.maps)]);
  });

  it('the gate conv names what the towers need', async () => {
    await activate(backend);
    const x = tf.zeros([2 * 70 + 2 * 20, 4]) as tf.Tensor2D;
    const layout = stackedLayout({ batch: 2, sizes: [[7, 10], [4, 5]] }, { batch: 2, sizes: [[7, 10], [4, 5]] });
    const [f, bias] = [tf.zeros([3, 3, 4, 1]), tf.zeros([1])];
    const attrs = { activation: ACTIVATION, pyramid: layout, towerRuns: 4 } as unknown as tf.NamedAttrMap;
    expect(() => tf.engine().runKernel(ACTIVATED_GATE_CONV, { x, filter: f, bias }, attrs)).toThrow(`${ACTIVATED_GATE_CONV}: towerRuns needs the second tower's filter1 and bias1`);
    const fractional = { ...attrs, towerRuns: 1.5 } as unknown as tf.NamedAttrMap;
    expect(() => tf.engine().runKernel(ACTIVATED_GATE_CONV, { x, filter: f, bias, filter1: f, bias1: bias }, fractional)).toThrow('GateConvProgram: towerRuns (1.5) needs a pyramid, two filters and a positive whole number');
    tf.dispose([x, f, bias]);
  });

  // a first level of 50x48 (2400 pixels an image): at 90% density both convs' GroupNorms sum their
  // rows in two chunks (over 2048), so the paired parameters go through the chunked programs too
  // SwiftShader's form keeps the towers apart (knob mergeTowers); merged there too, its programs'
  // tower choices (direct GEMM tiles, GroupNorm in three programs) are checked as well
  it.each([
    ['gpu', true, [[7, 10], [4, 5], [2, 3]], 2, 0.5],
    ['swiftshader', true, [[7, 10], [4, 5], [2, 3]], 2, 0.5],
    ['swiftshader', false, [[7, 10], [4, 5], [2, 3]], 2, 0.5],
    ['gpu', true, [[50, 48], [25, 24]], 1, 0.9],
    ['swiftshader', true, [[50, 48], [25, 24]], 1, 0.9],
  ] as const)("two towers' depth nodes (as on %s, merged %s, levels %j, batch %i, density %d) equal each tower's own, merged in one tower's dispatches", async (kind, mergeTowers, sizes, b, density) => {
    await activate(backend);
    setWebGPUTuning(kind, { mergeTowers });
    const rand = seededRandom(151);
    const c = 8;
    const layout = { batch: b, sizes: sizes.map(([h, w]) => [h, w] as const) };
    const rows = pyramidRows(layout);
    const towerInputs = [0, 1].map(() => tf.tensor2d(Array.from({ length: rows * c }, () => rand(-1, 1)), [rows, c]));
    const towerGates = [0, 1].map(() => tf.tensor2d(Array.from({ length: rows }, () => (rand() < density ? rand(0.1, 1) : 0)), [rows, 1]));
    const norm = (): GroupNormParams => ({ groups: 2, gamma: tf.tensor1d(Array.from({ length: c }, () => rand(0.5, 1.5))), beta: tf.tensor1d(Array.from({ length: c }, () => rand(-0.5, 0.5))) });
    const filter = () => tf.tensor4d(Array.from({ length: 9 * c * c }, () => rand(-0.3, 0.3)), [3, 3, c, c]);
    const first: TowerConvs = { filters: [filter(), filter()], norms: [norm(), norm()] };
    const second: TowerConvs = { filters: [filter(), filter()], norms: [norm(), norm()] };
    const x = concatRows(towerInputs);
    const gate = concatRows(towerGates);
    // the first call packs each conv's two norms into one buffer, kept while the weights stay the same
    const warm = await programsOf(() => sparseConvPairTowers(x, layout, gate, first, second));
    expect(warm.kinds?.get('dynheadPackVectors') ?? 0, 'norm packs on the first call').toBe(mergeTowers ? 2 : 0);
    warm.value.dispose();
    const { value: merged, kinds: mergedKinds } = await programsOf(() => sparseConvPairTowers(x, layout, gate, first, second));
    // leak-free: a further call leaves only its output, and gives the same numbers
    const count = tf.memory().numTensors;
    const again = await sparseConvPairTowers(x, layout, gate, first, second);
    expect(tf.memory().numTensors, 'tensors after a further call').toBe(count + 1);
    expect(Array.from(await again.data())).toEqual(Array.from(await merged.data()));
    again.dispose();
    const wants: Float32Array[] = [];
    let towerKinds: Map<string, number> | null = null;
    for (const t of [0, 1] as const) {
      const { value: y, kinds } = await programsOf(() =>
        sparseConvPairPyramid(
          towerInputs[t],
          layout,
          { mask: towerGates[t], filter: first.filters[t], opts: { norm: first.norms[t], post: 'relu', dilateMask: true } },
          { mask: towerGates[t], filter: second.filters[t], opts: { norm: second.norms[t], gatedResidual: { input: towerInputs[t], gate: towerGates[t] } } },
        ),
      );
      wants.push((await y.data()) as Float32Array);
      towerKinds = kinds;
      y.dispose();
    }
    // merged, what one tower alone dispatches; apart, twice that
    const twice = new Map([...(towerKinds ?? [])].map(([k, n]) => [k, mergeTowers ? n : 2 * n]));
    expect(mergedKinds, 'the pair of towers dispatches').toEqual(twice);
    const [got0, got1] = splitRows(merged, [rows, rows]);
    expect(relL2(await got0.data(), wants[0]), 'tower 0').toBeLessThan(1e-6);
    expect(relL2(await got1.data(), wants[1]), 'tower 1').toBeLessThan(1e-6);
    tf.dispose([merged, got0, got1, x, gate, ...towerInputs, ...towerGates, ...first.filters, ...second.filters, ...[...first.norms, ...second.norms].flatMap((n) => [n.gamma, n.beta])]);
  });

  it("sparseConvPairTowers names the tower and argument at fault", async () => {
    await activate(backend);
    const layout = { batch: 1, sizes: [[4, 5], [2, 3]] as const };
    const rows = pyramidRows(layout);
    const x = tf.zeros([2 * rows, 8]) as tf.Tensor2D;
    const gate = tf.zeros([2 * rows, 1]) as tf.Tensor2D;
    const norm = (): GroupNormParams => ({ groups: 2, gamma: tf.ones([8]) as tf.Tensor1D, beta: tf.zeros([8]) as tf.Tensor1D });
    const filter = (cout: number) => tf.zeros([3, 3, 8, cout]) as tf.Tensor4D;
    const ok: TowerConvs = { filters: [filter(8), filter(8)], norms: [norm(), norm()] };
    const wide: TowerConvs = { filters: [filter(8), filter(12)], norms: [norm(), norm()] };
    await expect(sparseConvPairTowers(x, layout, gate, ok, wide)).rejects.toThrow(/sparseConvPairTowers: second, tower 1/);
    const half = tf.zeros([rows, 8]) as tf.Tensor2D;
    await expect(sparseConvPairTowers(half, layout, gate, ok, ok)).rejects.toThrow(/sparseConvPairTowers: x/);
    tf.dispose([x, gate, half, ...ok.filters, ...wide.filters, ...[...ok.norms, ...wide.norms].flatMap((n) => [n.gamma, n.beta])]);
  });
});
