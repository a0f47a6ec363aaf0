import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { activate, relL2, seededRandom } from '../../../test/backends';
import { type GateConvParams, activatedGateConvPyramid, concatRows, activatedGateConvsPyramid, blendPyramid, convLayerPyramid, depthwiseNormPyramid, gateSums, packPyramid, pyramidLayoutOf, scaleLevelsPyramid, scalePathsPyramid, scalePathsToBlend, scalePathsWithGates, setWebGPUTuning, sparseConvPairPyramid, stackedLayout, unpackPyramid } from './index';
import { refBlendLevel, refConv, refGroupNorm, refMaxPool3x3 } from './reference.test-util';
import { BACKENDS_WEBGPU_FIRST, DOUBLED_RELU, PYRAMID_SIZES, scalePathValues } from './pyramid-fixtures.test-util';
import { programsOf } from './webgpu-programs.test-util';

const BACKENDS = BACKENDS_WEBGPU_FIRST;
const SIZES = PYRAMID_SIZES;
const ACTIVATION = DOUBLED_RELU;

describe.each(BACKENDS)('packed pyramids on %s', (backend) => {
  afterEach(() => setWebGPUTuning(undefined));

  it.each([1, 2, 8, 64])('a gate conv whose cells share their channels among %i threads (gateLanes) equals the float64 gates, one and two at a time', async (gateLanes) => {
    await activate(backend);
    setWebGPUTuning('gpu', { gateLanes });
    const rand = seededRandom(97);
    // 40 channels: 10 quads, which 8 and 64 lanes do not divide (some lanes have none)
    const [b, c] = [2, 40];
    const levels = SIZES.map(([h, w]) => Array.from({ length: b * h * w * c }, () => rand(-1, 1)));
    const filters = [0, 1].map(() => Array.from({ length: 9 * c }, () => rand(-0.5, 0.5)));
    const maps = levels.map((x, l) => tf.tensor4d(x, [b, SIZES[l][0], SIZES[l][1], c]));
    const layout = pyramidLayoutOf(maps);
    const x = packPyramid(maps);
    const [f0, f1] = filters.map((f) => tf.tensor4d(f, [3, 3, c, 1]));
    const [b0, b1] = [tf.tensor1d([0.1]), tf.tensor1d([-0.05])];
    const ref = (f: number[], bias: number) =>
      SIZES.flatMap(([h, w], l) => Array.from(refConv({ x: levels[l], shape: [b, h, w, c], filter: f, k: 3, cout: 1 }).map((v) => 2 * Math.max(v + Math.fround(bias), 0))));
    const tol = backend === 'webgpu' ? 1e-4 : 1e-5;
    const one = activatedGateConvPyramid(x, layout, f0, b0, ACTIVATION);
    expect(relL2(await one.data(), ref(filters[0], 0.1))).toBeLessThan(tol);
    const both = await activatedGateConvsPyramid(x, layout, [{ filter: f0, bias: b0 }, { filter: f1, bias: b1 }], ACTIVATION).data();
    expect(relL2(both.slice(0, x.shape[0]), ref(filters[0], 0.1)), 'both: the first').toBeLessThan(tol);
    expect(relL2(both.slice(x.shape[0]), ref(filters[1], -0.05)), 'both: the second').toBeLessThan(tol);
    tf.dispose([one, x, ...maps, f0, f1, b0, b1]);
  });

  it('packs level after level and unpacks to the same maps; names the shape at fault', async () => {
    await activate(backend);
    const maps = [tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 1, 2]), tf.tensor4d([9, 10, 11, 12], [2, 1, 1, 2])];
    const packed = packPyramid(maps);
    expect(packed.shape).toEqual([6, 2]);
    expect(Array.from(await packed.data())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const layout = pyramidLayoutOf(maps);
    expect(layout).toEqual({ batch: 2, sizes: [[2, 1], [1, 1]] });
    expect(stackedLayout(layout, layout)).toEqual({ batch: 2, sizes: [[2, 1], [1, 1], [2, 1], [1, 1]] });
    expect(() => stackedLayout(layout, { batch: 1, sizes: [[2, 1]] })).toThrow('stackedLayout: one batch, got 2, 1');
    const back = unpackPyramid(packed, layout);
    expect(back.map((m) => m.shape)).toEqual([[2, 2, 1, 2], [2, 1, 1, 2]]);
    expect(Array.from(await back[1].data())).toEqual([9, 10, 11, 12]);
    expect(() => packPyramid([maps[0], tf.zeros([1, 1, 1, 2]) as tf.Tensor4D])).toThrow(/maps\[1\] has shape \[1,1,1,2\]/);
    expect(() => unpackPyramid(tf.zeros([5, 2]) as tf.Tensor2D, layout)).toThrow(/packed has shape \[5,2\]; the layout needs \[6,C\]/);
    const f = tf.zeros([3, 3, 2, 2]) as tf.Tensor4D;
    const norm = { groups: 1, gamma: tf.ones([2]) as tf.Tensor1D, beta: tf.zeros([2]) as tf.Tensor1D };
    await expect(sparseConvPairPyramid(packed, layout, { mask: tf.zeros([6, 1]), filter: f, opts: { norm } }, { mask: tf.zeros([5, 1]), filter: f, opts: { norm } })).rejects.toThrow(
      /second\.mask has shape \[5,1\]; the pyramid's layout needs \[6,1\]/,
    );
    tf.dispose([...maps, packed, ...back]);
  });

  it.each(['gpu', 'swiftshader'] as const)('as on %s: a pyramid\'s gate conv and its cost sums equal each level\'s float64 reference', async (tuning) => {
    await activate(backend);
    setWebGPUTuning(tuning);
    const rand = seededRandom(89);
    const [b, c] = [2, 12];
    const levels = SIZES.map(([h, w]) => Array.from({ length: b * h * w * c }, () => rand(-1, 1)));
    const filter = Array.from({ length: 9 * c }, () => rand(-0.5, 0.5));
    const maps = levels.map((x, l) => tf.tensor4d(x, [b, SIZES[l][0], SIZES[l][1], c]));
    const layout = pyramidLayoutOf(maps);
    const x = packPyramid(maps);
    const [ft, bt] = [tf.tensor4d(filter, [3, 3, c, 1]), tf.tensor1d([0.1])];
    const before = tf.memory().numTensors;
    const gate = activatedGateConvPyramid(x, layout, ft, bt, ACTIVATION);
    expect(gate.shape).toEqual([x.shape[0], 1]);
    // the gate's charge as a depth node's conv1 (pooled) and conv2 take it, against a plain map of 9 ones
    const plain = tf.ones([b, 3, 3, 1]) as tf.Tensor4D;
    const sums = gateSums([{ packed: gate, layout }, { packed: gate, layout }, plain], [10, 3, 1], [true, false, false]);
    // pyramids alone (webgpu: a program with no map shape among its uniforms)
    const alone = gateSums([{ packed: gate, layout }], [3]);
    expect(tf.memory().numTensors).toBe(before + 4); // the gate, the sums, the plain map and the sums alone
    const got = await gate.data();
    let at = 0;
    const want = [0, 1].map(() => [0, 0]);
    const usedPlain = [0, 0];
    for (const [l, [h, w]] of SIZES.entries()) {
      const ref = refConv({ x: levels[l], shape: [b, h, w, c], filter, k: 3, cout: 1 }).map((v) => 2 * Math.max(v + Math.fround(0.1), 0));
      const part = got.slice(at, at + ref.length);
      expect(relL2(part, ref), `level ${l} (${h}x${w})`).toBeLessThan(backend === 'webgpu' ? 1e-4 : 1e-5);
      for (let i = 0; i < ref.length; i++) if (ref[i] === 0) expect(part[i], `level ${l}, pixel ${i}`).toBe(0);
      // costs from this backend's gate values: the sums, not the conv, are under test here
      const pooled = refMaxPool3x3(part, b, h, w);
      for (let n = 0; n < b; n++) {
        const plane = (v: ArrayLike<number>) => Array.from(v).slice(n * h * w, (n + 1) * h * w);
        const sum = (v: number[]) => v.reduce((a, e) => a + e, 0);
        const count = (v: number[]) => v.filter((e) => e !== 0).length;
        want[n][0] += 10 * sum(plane(pooled)) + 3 * sum(plane(part));
        want[n][1] += 10 * count(plane(pooled)) + 3 * count(plane(part));
        usedPlain[n] += count(plane(part));
      }
      at += ref.length;
    }
    const total = await sums.data();
    const totalAlone = await alone.data();
    for (let n = 0; n < b; n++) {
      // float32 sums
      expect(Math.abs(total[n * 2] - (want[n][0] + 9)) / (want[n][0] + 9), `image ${n} soft`).toBeLessThan(1e-6);
      expect(total[n * 2 + 1], `image ${n} used`).toBe(want[n][1] + 9);
      expect(totalAlone[n * 2 + 1], `image ${n} used, the pyramid alone`).toBe(3 * usedPlain[n]);
    }
    expect(() => activatedGateConvPyramid(tf.zeros([5, c]) as tf.Tensor2D, layout, ft, bt, ACTIVATION)).toThrow(/x has shape \[5,12\]; the pyramid's layout needs \[\d+,C\]/);

    // two gates of the same x (the scale node's paths; webgpu: one dispatch), the second's map after the first's
    const filter2 = Array.from({ length: 9 * c }, () => rand(-0.5, 0.5));
    const [ft2, bt2] = [tf.tensor4d(filter2, [3, 3, c, 1]), tf.tensor1d([-0.05])];
    const both = activatedGateConvsPyramid(x, layout, [{ filter: ft, bias: bt }, { filter: ft2, bias: bt2 }], ACTIVATION);
    expect(both.shape).toEqual([2 * x.shape[0], 1]);
    const ref = (f: number[], bias: number) =>
      SIZES.flatMap(([h, w], l) => Array.from(refConv({ x: levels[l], shape: [b, h, w, c], filter: f, k: 3, cout: 1 }).map((v) => 2 * Math.max(v + Math.fround(bias), 0))));
    const gotBoth = await both.data();
    const tol = backend === 'webgpu' ? 1e-4 : 1e-5;
    expect(relL2(gotBoth.slice(0, x.shape[0]), ref(filter, 0.1)), 'both gates: the first').toBeLessThan(tol);
    expect(relL2(gotBoth.slice(x.shape[0]), ref(filter2, -0.05)), 'both gates: the second').toBeLessThan(tol);
    expect(() => activatedGateConvsPyramid(x, layout, [{ filter: ft, bias: bt }, { filter: ft2, bias: tf.tensor1d([1, 2]) }], ACTIVATION)).toThrow(/gates\[1\]\.bias must hold one value, got shape \[2\]/);
    tf.dispose([gate, sums, alone, plain, x, ...maps, ft, bt, ft2, bt2, both]);
  });

  // 6 channels: one channel at a time (no vec4s) in the depthwise map, GroupNorm and the blend;
  // a first level of 2400 rows: the paths' GroupNorm sums it in two chunks (CHUNK_ROWS)
  const BIG: [number, number][] = [
    [48, 50],
    [24, 25],
    [12, 13],
    [6, 7],
  ];
  it.each([
    ['gpu', 8, SIZES, 2],
    ['swiftshader', 8, SIZES, 2],
    ['swiftshader', 6, SIZES, 2],
    ['gpu', 8, BIG, 1],
    ['swiftshader', 8, BIG, 1],
  ] as const)("as on %s, %i channels: a scale node's paths and blend over a pyramid equal each level's float64 reference (levels %j, batch %i)", async (tuning, c, sizes, b) => {
    await activate(backend);
    setWebGPUTuning(tuning);
    const rand = seededRandom(97);
    const SIZES = sizes;
    const groups = 2;
    const L = SIZES.length;
    const shapes = SIZES.map(([h, w]) => [b, h, w, c] as [number, number, number, number]);
    const xs = shapes.map((sh) => Array.from({ length: sh.reduce((a, v) => a * v, 1) }, () => rand(-1, 1)));
    const gates = [0, 1].map(() => SIZES.map(([h, w]) => Array.from({ length: b * h * w }, () => (rand() < 0.6 ? rand(0.05, 1) : 0))));
    const layers = [0, 1].map(() => ({
      filter: Array.from({ length: 9 * c }, () => rand(-0.5, 0.5)),
      bias: Array.from({ length: c }, () => rand(-0.2, 0.2)),
      gamma: Array.from({ length: c }, () => rand(0.5, 1.5)),
      beta: Array.from({ length: c }, () => rand(-0.5, 0.5)),
    }));
    const [ow, sw] = [0.7, 1.3];

    const maps = xs.map((v, l) => tf.tensor4d(v, shapes[l]));
    const layout = pyramidLayoutOf(maps);
    const x = packPyramid(maps);
    const gateMaps = gates.map((g) => g.map((v, l) => tf.tensor4d(v, [b, SIZES[l][0], SIZES[l][1], 1])));
    const packedGates = gateMaps.map((g) => packPyramid(g));
    const lt = layers.map((p) => ({ filter: tf.tensor4d(p.filter, [3, 3, c, 1]), bias: tf.tensor1d(p.bias), norm: { groups, gamma: tf.tensor1d(p.gamma), beta: tf.tensor1d(p.beta) } }));
    const [owT, swT] = [tf.tensor1d([ow]), tf.tensor1d([sw])];
    const stackedGates = tf.concat(packedGates) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    // path 0 carries a level up to the next (levels 0 .. L-2), path 1 down (levels 1 .. L-1): both in one tensor, and one of them alone
    const paths = scalePathsPyramid(x, layout, lt[0], lt[1]);
    const coarser = depthwiseNormPyramid(x, layout, 1, L, lt[1]);
    const y = blendPyramid(x, layout, owT, { maps: paths, gates: stackedGates }, swT);
    expect(tf.memory().numTensors).toBe(before + 3);
    // the blend normalising the paths as it samples them (webgpu): their convs and GN's scale and shift per run
    const toBlend = scalePathsToBlend(x, layout, lt[0], lt[1]);
    expect(toBlend.affine !== undefined, 'paths left to the blend to normalise').toBe(backend === 'webgpu');
    const yOnRead = blendPyramid(x, layout, owT, { ...toBlend, gates: stackedGates }, swT);
    setWebGPUTuning(tuning, { blendNormalizes: false });
    const notToBlend = scalePathsToBlend(x, layout, lt[0], lt[1]);
    expect(notToBlend.affine, 'blendNormalizes off').toBeUndefined();
    const gotOnRead = await yOnRead.data();

    const tol = backend === 'webgpu' ? 1e-4 : 1e-5;
    const path = (s: number, l: number) => {
      const p = layers[s];
      const conv = refConv({ x: xs[l], shape: shapes[l], filter: p.filter, k: 3, cout: c, depthwise: true, bias: p.bias });
      return refGroupNorm(conv, shapes[l], groups, p.gamma, p.beta);
    };
    const [gotPaths, gotCoarser, gotY] = [await paths.data(), await coarser.data(), await y.data()];
    const finerSize = b * SIZES.slice(0, L - 1).reduce((a, [h, w]) => a + h * w, 0) * c;
    expect(paths.shape).toEqual([finerSize / c + gotCoarser.length / c, c]);
    const gotFiner = gotPaths.slice(0, finerSize);
    let [atF, atC, atY] = [0, 0, 0];
    for (let l = 0; l < L; l++) {
      const size = b * SIZES[l][0] * SIZES[l][1] * c;
      if (l < L - 1) {
        expect(relL2(gotFiner.slice(atF, atF + size), path(0, l)), `path 0, level ${l}`).toBeLessThan(tol);
        atF += size;
      }
      if (l > 0) {
        expect(relL2(gotCoarser.slice(atC, atC + size), path(1, l)), `path 1 alone, level ${l}`).toBeLessThan(tol);
        expect(relL2(gotPaths.slice(finerSize + atC, finerSize + atC + size), path(1, l)), `path 1, level ${l}`).toBeLessThan(tol);
        atC += size;
      }
      const want = refBlendLevel(l, { shapes, xs, path, gates, ow, sw });
      expect(relL2(gotY.slice(atY, atY + size), want), `blend, level ${l}`).toBeLessThan(tol);
      expect(relL2(gotOnRead.slice(atY, atY + size), want), `blend normalising as it samples, level ${l}`).toBeLessThan(tol);
      atY += size;
    }
    expect(() => depthwiseNormPyramid(x, layout, 2, 2, lt[0])).toThrow('pyramidLevels: levels 2..1 are not within the pyramid\'s 4');
    expect(() => blendPyramid(x, layout, owT, { maps: coarser, gates: stackedGates }, swT)).toThrow(/paths\.maps has shape \[\d+,\d+\]; this layout's two paths are \[\d+,\d+\] \(levels 0\.\.2, then 1\.\.3\)/);
    expect(() => blendPyramid(x, layout, owT, { maps: paths, gates: packedGates[0] }, swT)).toThrow(/paths\.gates has shape \[\d+,1\]; two gates of this layout are \[\d+,1\]/);
    const flipped = tf.reshape(lt[0].filter, [3, 3, 1, c]) as tf.Tensor4D;
    expect(() => scalePathsPyramid(x, layout, lt[0], { ...lt[1], filter: flipped })).toThrow(`scalePathsPyramid: coarser.filter has shape [3,3,1,${c}]; it must be [3,3,${c},1]`);
    tf.dispose([flipped, paths, coarser, y, yOnRead, toBlend.maps, ...(toBlend.affine ? [toBlend.affine] : []), notToBlend.maps, x, owT, swT, stackedGates, ...maps, ...gateMaps.flat(), ...packedGates, ...lt.flatMap((p) => [p.filter, p.bias, p.norm.gamma, p.norm.beta])]);
  });

  // the scale node's gates and paths from one read of x (webgpu, pathGatesWithPaths: the maps after
  // the gates' rows, the gates a view of the same buffer), against float64 and the unfused form
  // (blendCombines: the blend works out the paths' GroupNorm from their chunk sums, on by default on GPUs)
  it.each([
    ['gpu', 8, SIZES, 2, true, true],
    ['gpu', 8, SIZES, 2, true, false],
    ['swiftshader', 8, SIZES, 2, true, false],
    ['swiftshader', 8, SIZES, 2, true, true],
    ['gpu', 8, BIG, 1, true, true],
    ['gpu', 8, BIG, 1, true, false],
    ['gpu', 8, SIZES, 2, false, true],
    ['swiftshader', 12, SIZES, 1, true, false],
    ['gpu', 12, SIZES, 1, true, true],
  ] as const)('as on %s, %i channels: scalePathsWithGates\'s gates and blend equal float64 references (levels %j, batch %i, fused %s, blend combines %s)', async (tuning, c, sizes, b, together, blendCombines) => {
    await activate(backend);
    setWebGPUTuning(tuning, { pathGatesWithPaths: together, blendCombines });
    const rand = seededRandom(101);
    const groups = 2;
    const L = sizes.length;
    const shapes = sizes.map(([h, w]) => [b, h, w, c] as [number, number, number, number]);
    const xs = shapes.map((sh) => Array.from({ length: sh.reduce((a, v) => a * v, 1) }, () => rand(-1, 1)));
    const layers = [0, 1].map(() => scalePathValues(rand, c));
    const [ow, sw] = [0.7, 1.3];
    const maps = xs.map((v, l) => tf.tensor4d(v, shapes[l]));
    const layout = pyramidLayoutOf(maps);
    const x = packPyramid(maps);
    const lt = layers.map((p) => ({ filter: tf.tensor4d(p.filter, [3, 3, c, 1]), bias: tf.tensor1d(p.bias), norm: { groups, gamma: tf.tensor1d(p.gamma), beta: tf.tensor1d(p.beta) } }));
    const gt = layers.map((p) => ({ filter: tf.tensor4d(p.gateFilter, [3, 3, c, 1]), bias: tf.tensor1d([p.gateBias]) })) as [GateConvParams, GateConvParams];
    const [owT, swT] = [tf.tensor1d([ow]), tf.tensor1d([sw])];
    const before = tf.memory().numTensors;
    const { value: paths, kinds } = await programsOf(async () => scalePathsWithGates(x, layout, lt[0], lt[1], gt, ACTIVATION));
    const fused = backend === 'webgpu' && together;
    // 12 channels in 2 groups: 6 a group, not whole quads, so the combine program stays
    const sums = fused && blendCombines && c === 8;
    if (kinds) {
      expect(kinds.get('dynheadScalePathsGates') ?? 0, 'the fused program').toBe(fused ? 1 : 0);
      expect(kinds.get('dynheadGateConv3x3') ?? 0, 'a gate conv of their own').toBe(fused ? 0 : 1);
      expect(kinds.get('dynheadGroupNormCombine') ?? 0, 'a combine program').toBe(sums ? 0 : 1);
    }
    expect(paths.statistics !== undefined, 'the paths as their sums').toBe(sums);
    // the gates a vec4 each ahead of the maps, a value each ahead of the statistics
    expect([paths.headRows ?? 0, paths.statsHeadRows ?? 0]).toEqual(fused ? [Math.ceil((8 * x.shape[0]) / c), Math.ceil((2 * x.shape[0]) / c)] : [0, 0]);
    // fused, the gates (kept by their charge to the pass's end) share the small affine buffer, not the maps'
    const small = paths.statistics?.partials ?? paths.affine;
    if (fused) expect([paths.gates.dataId === small?.dataId, paths.gates.dataId === paths.maps.dataId]).toEqual([true, false]);
    const y = blendPyramid(x, layout, owT, paths, swT);
    // maps, gates (on webgpu fused: the same buffer), affine (webgpu), the blend; the fused program's
    // biases are kept by the backend, outside the tensor count
    expect(tf.memory().numTensors).toBe(before + 3 + (small ? 1 : 0));
    const [gotGates, gotY] = [await paths.gates.data(), await y.data()];
    expect(paths.gates.shape).toEqual([2 * x.shape[0], 1]);

    const tol = backend === 'webgpu' ? 1e-4 : 1e-5;
    // each gate from this backend's own conv where the reference is within rounding of the kink:
    // the gates' sums are under test, the zeros placed where float64 places them elsewhere
    const refGate = (s: number, l: number) => refConv({ x: xs[l], shape: shapes[l], filter: layers[s].gateFilter, k: 3, cout: 1 }).map((v) => 2 * Math.max(v + Math.fround(layers[s].gateBias), 0));
    const path = (s: number, l: number) => {
      const p = layers[s];
      const conv = refConv({ x: xs[l], shape: shapes[l], filter: p.filter, k: 3, cout: c, depthwise: true, bias: p.bias });
      return refGroupNorm(conv, shapes[l], groups, p.gamma, p.beta);
    };
    const rows = x.shape[0];
    let [atG, atY] = [0, 0];
    const gateOf: number[][][] = [[], []];
    for (let l = 0; l < L; l++) {
      const pixels = b * sizes[l][0] * sizes[l][1];
      for (const s of [0, 1]) {
        const got = gotGates.slice(s * rows + atG, s * rows + atG + pixels);
        expect(relL2(got, refGate(s, l)), `gate ${s}, level ${l}`).toBeLessThan(tol);
        gateOf[s].push(Array.from(got));
      }
      atG += pixels;
    }
    for (let l = 0; l < L; l++) {
      const size = b * sizes[l][0] * sizes[l][1] * c;
      const want = refBlendLevel(l, { shapes, xs, path, gates: gateOf, ow, sw });
      expect(relL2(gotY.slice(atY, atY + size), want), `blend, level ${l}`).toBeLessThan(tol);
      atY += size;
    }
    // x as rows 7 .. of a bigger tensor (a tower's rows in two towers' stacked maps): the same numbers
    const [head, tail] = [tf.fill([7, c], 9) as tf.Tensor2D, tf.fill([3, c], -9) as tf.Tensor2D];
    const inside = concatRows([head, x, tail]);
    const pathsAt = scalePathsWithGates(inside, layout, lt[0], lt[1], gt, ACTIVATION, 7);
    const yAt = blendPyramid(inside, layout, owT, pathsAt, swT, 7);
    expect(Array.from(await pathsAt.gates.data()), 'gates of x read at row 7').toEqual(Array.from(gotGates));
    expect(Array.from(await yAt.data()), 'blend of x read at row 7').toEqual(Array.from(gotY));
    expect(() => blendPyramid(inside, layout, owT, pathsAt, swT, 11)).toThrow(`blendPyramid: x has shape [${rows + 10},${c}]; the pyramid's layout needs [${rows},${c}] from row 11`);
    tf.dispose([head, tail, inside, pathsAt.maps, pathsAt.gates, pathsAt.statistics?.partials ?? pathsAt.affine ?? [], yAt]);
    expect(() => scalePathsWithGates(x, layout, lt[0], lt[1], [gt[0], { ...gt[1], bias: lt[0].bias }], ACTIVATION)).toThrow(`scalePathsWithGates: gates[1].bias must hold one value, got shape [${c}]`);
    expect(() => scalePathsWithGates(x, layout, lt[0], { ...lt[1], bias: gt[0].bias as tf.Tensor1D }, gt, ACTIVATION)).toThrow(`scalePathsWithGates: coarser.bias has shape [1]; it must hold ${c} values`);
    tf.dispose([paths.maps, paths.gates, ...(small ? [small] : []), y, x, owT, swT, ...maps, ...lt.flatMap((p) => [p.filter, p.bias, p.norm.gamma, p.norm.beta]), ...gt.flatMap((g) => [g.filter, g.bias])]);
  });

  // FCOS's predictors on all levels at once: cls_score (webgpu: the GEMM for 8 channels, and for 3
  // padded to 4), bbox_pred (4 channels: the quad-output program, or with quadOutputConv off the
  // GEMM), centerness (1 channel: the gate conv program), and the boxes' per-level scale
  it.each(['gpu', 'swiftshader'] as const)("as on %s: a predictor's conv and the boxes' level scales over a pyramid equal each level's float64 reference", async (tuning) => {
    await activate(backend);
    setWebGPUTuning(tuning);
    const rand = seededRandom(103);
    const [b, c] = [2, 8];
    const levels = SIZES.map(([h, w]) => Array.from({ length: b * h * w * c }, () => rand(-1, 1)));
    const maps = levels.map((v, l) => tf.tensor4d(v, [b, SIZES[l][0], SIZES[l][1], c]));
    const layout = pyramidLayoutOf(maps);
    const x = packPyramid(maps);
    const tol = backend === 'webgpu' ? 1e-4 : 1e-5;
    const quadPipelines = () => Object.keys((tf.backend() as unknown as { pipelineCache?: object }).pipelineCache ?? {}).filter((k) => k.includes('dynheadQuadOutputConv') && k.includes(tuning === 'gpu' ? '_4_8_' : '_8_1_')).length;
    for (const [cout, quadOutputConv] of [[8, true], [1, true], [3, true], [4, true], [4, false]] as const) {
      setWebGPUTuning(tuning, { quadOutputConv });
      const filter = Array.from({ length: 9 * c * cout }, () => rand(-0.5, 0.5));
      const bias = Array.from({ length: cout }, () => rand(-1, 1));
      const [ft, bt] = [tf.tensor4d(filter, [3, 3, c, cout]), tf.tensor1d(bias)];
      const y = convLayerPyramid(x, layout, ft, { bias: bt });
      expect(y.shape).toEqual([x.shape[0], cout]);
      const want = SIZES.flatMap(([h, w], l) => Array.from(refConv({ x: levels[l], shape: [b, h, w, c], filter, k: 3, cout, bias })));
      expect(relL2(await y.data(), want), `${cout} output channels, quadOutputConv ${quadOutputConv}`).toBeLessThan(tol);
      if (backend === 'webgpu' && cout === 4 && quadOutputConv) expect(quadPipelines(), "the quad-output program in this tuning's form").toBe(1);
      tf.dispose([y, ft, bt]);
    }
    setWebGPUTuning(tuning);
    // the boxes: ReLU(scale_l * v) * stride_l, or exp(scale_l * v)
    const scaleValues = SIZES.map(() => rand(0.5, 1.5));
    const scales = scaleValues.map((v) => tf.tensor1d([v]));
    const strides = [8, 16, 32, 64];
    const xv = await x.data();
    const levelOf = (row: number) => {
      let [l, start] = [0, 0];
      while (l < SIZES.length - 1 && row >= start + b * SIZES[l][0] * SIZES[l][1]) start += b * SIZES[l][0] * SIZES[l][1], l++;
      return l;
    };
    const relu = scaleLevelsPyramid(x, layout, scales, { relu: true, factors: strides });
    const exp = scaleLevelsPyramid(x, layout, scales, { exp: true });
    const scaled = (i: number) => Math.fround(xv[i] * Math.fround(scaleValues[levelOf(Math.floor(i / c))]));
    expect(relL2(await relu.data(), Array.from(xv, (_, i) => Math.max(0, scaled(i)) * strides[levelOf(Math.floor(i / c))]))).toBeLessThan(1e-6);
    expect(relL2(await exp.data(), Array.from(xv, (_, i) => Math.exp(scaled(i))))).toBeLessThan(1e-6);
    expect(() => scaleLevelsPyramid(x, layout, scales.slice(1), { exp: true })).toThrow('scaleLevelsPyramid: one one-value scale per level (4), got shapes [1], [1], [1]');
    tf.dispose([relu, exp, x, ...maps, ...scales]);
  });

  it('one shader serves pyramids of every size with as many levels (the sizes are uniforms)', async () => {
    await activate(backend);
    const rand = seededRandom(101);
    const c = 8;
    const pipelines = () => Object.keys((tf.backend() as unknown as { pipelineCache?: object }).pipelineCache ?? {}).filter((k) => k.includes('dynheadGateConv3x3')).length;
    let compiled = 0;
    for (const sizes of [SIZES, [[5, 6], [3, 3], [2, 2], [1, 1]] as [number, number][]]) {
      const levels = sizes.map(([h, w]) => Array.from({ length: h * w * c }, () => rand(-1, 1)));
      const filter = Array.from({ length: 9 * c }, () => rand(-0.5, 0.5));
      const maps = levels.map((v, l) => tf.tensor4d(v, [1, sizes[l][0], sizes[l][1], c]));
      const layout = pyramidLayoutOf(maps);
      const [x, ft, bt] = [packPyramid(maps), tf.tensor4d(filter, [3, 3, c, 1]), tf.tensor1d([0.1])];
      const gate = activatedGateConvPyramid(x, layout, ft, bt, ACTIVATION);
      const want = sizes.flatMap(([h, w], l) => Array.from(refConv({ x: levels[l], shape: [1, h, w, c], filter, k: 3, cout: 1 }).map((v) => 2 * Math.max(v + Math.fround(0.1), 0))));
      expect(relL2(await gate.data(), want), `levels ${sizes.map((s) => s.join('x')).join(', ')}`).toBeLessThan(backend === 'webgpu' ? 1e-4 : 1e-5);
      if (backend === 'webgpu') {
        if (compiled === 0) {
          compiled = pipelines();
          expect(compiled).toBeGreaterThan(0);
        } else expect(pipelines()).toBe(compiled);
      }
      tf.dispose([gate, x, ft, bt, ...maps]);
    }
  });
});
