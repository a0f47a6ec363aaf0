import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { blendResized, convLayer, gateSums, groupNormInference, setWebGPUTuning, sparseConv2d } from './index';
import { randomMask, refConv, refGroupNorm, refPostMask } from './reference.test-util';
import { programsOf } from './webgpu-programs.test-util';

type Shape4 = [number, number, number, number];

describe.each(TEST_BACKENDS)('device tunings on %s', (backend) => {
  afterEach(() => setWebGPUTuning(undefined));

  it.each(['gpu', 'swiftshader'] as const)('as on %s: dense, one-output and listed convs equal the float64 reference', async (kind) => {
    await activate(backend);
    setWebGPUTuning(kind);
    const tol = backend === 'webgpu' ? 1e-4 : 1e-5;
    const rand = seededRandom(71);
    const cases: { shape: Shape4; k: number; cout: number; density: number }[] = [
      { shape: [2, 9, 11, 8], k: 3, cout: 8, density: 1 }, // 198 rows: three full tiles and a tail of 6
      { shape: [1, 13, 11, 12], k: 3, cout: 68, density: 0.5 }, // about 70 listed rows, 68 channels: a partial column tile
      { shape: [1, 7, 9, 8], k: 1, cout: 4, density: 0.2 }, // a dozen listed rows: one short tile
      { shape: [1, 23, 29, 8], k: 3, cout: 8, density: 0.3 }, // 667 pixels: a list of three blocks
      { shape: [2, 5, 11, 8], k: 3, cout: 1, density: 1 }, // one output channel: the gate conv program, rows of 11 = 8 + 3
    ];
    for (const { shape, k, cout, density } of cases) {
      const [b, h, w, cin] = shape;
      const x = Array.from({ length: b * h * w * cin }, () => rand(-1, 1));
      const filter = Array.from({ length: k * k * cin * cout }, () => rand(-0.5, 0.5));
      const xt = tf.tensor4d(x, shape);
      const ft = tf.tensor4d(filter, [k, k, cin, cout]);
      const want = refConv({ x, shape, filter, k, cout });
      const label = `${shape.join('x')}, k ${k}, density ${density}`;
      if (density === 1) {
        const y = convLayer(xt, ft);
        expect(relL2(await y.data(), want), label).toBeLessThan(tol);
        y.dispose();
      } else {
        const mask = randomMask(b * h * w, density, rand);
        const mt = tf.tensor4d(mask, [b, h, w, 1]);
        const y = await sparseConv2d(xt, mt, ft, { method: 'compact' });
        expect(relL2(await y.data(), refPostMask(want, cout, mask, false)), label).toBeLessThan(tol);
        tf.dispose([y, mt]);
      }
      tf.dispose([xt, ft]);
    }
  });

  it.each(['gpu', 'swiftshader'] as const)('as on %s: a depthwise conv with GN equals the float64 reference, and so does its blend', async (kind) => {
    await activate(backend);
    setWebGPUTuning(kind);
    const rand = seededRandom(73);
    // 600 rows, 20 channels a group: the one-pass program on GPUs, the map first on SwiftShader,
    // whose threads take 16 of the 20 channel quads, then the other 4
    const shape: Shape4 = [1, 20, 30, 80];
    const [b, h, w, c] = shape;
    const x = Array.from({ length: b * h * w * c }, () => rand(-1, 1));
    const filter = Array.from({ length: 9 * c }, () => rand(-0.5, 0.5));
    const bias = Array.from({ length: c }, () => rand(-0.2, 0.2));
    const gamma = Array.from({ length: c }, () => rand(0.5, 1.5));
    const beta = Array.from({ length: c }, () => rand(-0.5, 0.5));
    const [xt, ft, bt, gt, et] = [tf.tensor4d(x, shape), tf.tensor4d(filter, [3, 3, c, 1]), tf.tensor1d(bias), tf.tensor1d(gamma), tf.tensor1d(beta)];
    const y = convLayer(xt, ft, { depthwise: true, bias: bt, norm: { groups: 4, gamma: gt, beta: et }, post: 'relu' });
    const want = refPostMask(refGroupNorm(refConv({ x, shape, filter, k: 3, cout: c, depthwise: true, bias }), shape, 4, gamma, beta), c, new Float32Array(b * h * w).fill(1), true);
    expect(relL2(await y.data(), want)).toBeLessThan(backend === 'webgpu' ? 1e-4 : 1e-5);
    // the scale node's blend of this output with a source of its size: x * 0.5 + y * 2
    const [half, two] = [tf.scalar(0.5), tf.scalar(2)];
    const z = blendResized(xt, half, [y], two);
    const yv = await y.data();
    expect(relL2(await z.data(), x.map((v, i) => v * 0.5 + yv[i] * 2))).toBeLessThan(1e-6);
    tf.dispose([y, z, half, two, xt, ft, bt, gt, et]);
  });

  it.each(['gpu', 'swiftshader'] as const)('as on %s: a dense conv with its bias in the GEMM, and gate sums, equal float64 references', async (kind) => {
    await activate(backend);
    setWebGPUTuning(kind);
    const rand = seededRandom(79);
    // a predictor's form: 12 output channels, the bias added as the rows are written
    const shape: Shape4 = [2, 7, 9, 8];
    const [b, h, w, cin] = shape;
    const cout = 12;
    const x = Array.from({ length: b * h * w * cin }, () => rand(-1, 1));
    const filter = Array.from({ length: 9 * cin * cout }, () => rand(-0.5, 0.5));
    const bias = Array.from({ length: cout }, () => rand(-1, 1));
    const [xt, ft, bt] = [tf.tensor4d(x, shape), tf.tensor4d(filter, [3, 3, cin, cout]), tf.tensor1d(bias)];
    const y = convLayer(xt, ft, { bias: bt });
    expect(relL2(await y.data(), refConv({ x, shape, filter, k: 3, cout, bias }))).toBeLessThan(backend === 'webgpu' ? 1e-4 : 1e-5);
    // gate sums: two maps of 25x42 (more pixels than the GPU form's 256 threads), half of them 0;
    // then of 61x70, 4270 pixels an image, which the GPU form splits into 3 chunks of 2048 and
    // combines, and of 90x100 in 5 chunks (a program of its own: the chunk count is in its code);
    // then nine maps of 61x70 charged twice each, more than one program binds: two and a combine
    for (const [mh, mw, chunks, count] of [
      [25, 42, 1, 2],
      [61, 70, kind === 'gpu' ? 3 : 1, 2],
      [90, 100, kind === 'gpu' ? 5 : 1, 2],
      [61, 70, kind === 'gpu' ? 3 : 1, 9],
    ]) {
      const maps = Array.from({ length: count }, () => Array.from({ length: b * mh * mw }, () => (rand() < 0.5 ? 0 : Math.fround(rand(1e-3, 1)))));
      const tensors = maps.map((m) => tf.tensor4d(m, [b, mh, mw, 1]));
      // with nine maps, each twice: the same units, so the sums are twice the plain ones
      const [gates, units] = count === 2 ? [tensors, [2560, 590080]] : [[...tensors, ...tensors], [...maps, ...maps].map((_, j) => [2560, 590080][j % 2])];
      const { value: sums, kinds } = await programsOf(async () => gateSums(gates, units));
      if (kinds) {
        expect(kinds.get('dynheadGateSumsCombine') ?? 0, `${mh}x${mw}`).toBe(chunks > 1 || count > 6 ? 1 : 0);
        expect(kinds.get('dynheadGateSums'), `${mh}x${mw}`).toBe(count > 7 ? 2 : 1);
      }
      const got = await sums.data();
      for (let i = 0; i < b; i++) {
        const image = (m: number[]) => m.slice(i * mh * mw, (i + 1) * mh * mw);
        const all = gates.map((g) => maps[tensors.indexOf(g)]);
        const soft = all.reduce((a, m, j) => a + units[j] * image(m).reduce((s, v) => s + v, 0), 0);
        const used = all.reduce((a, m, j) => a + units[j] * image(m).filter((v) => v !== 0).length, 0);
        expect(relL2([got[2 * i], got[2 * i + 1]], [soft, used]), `${mh}x${mw}, ${count} maps, image ${i}`).toBeLessThan(1e-6);
      }
      tf.dispose([sums, ...tensors]);
    }
    tf.dispose([y, xt, ft, bt]);
  });

  // GroupNorm of a run of over 2048 rows (CHUNK_ROWS) sums them in chunks; on GPUs one program then
  // combines the chunks' sums as it normalizes (a dispatch saved), on SwiftShader two do, as they do
  // anywhere past 64 runs
  it.each(['gpu', 'swiftshader'] as const)('as on %s: GroupNorm of runs over 2048 rows equals the float64 reference, in the programs of that device', async (kind) => {
    await activate(backend);
    setWebGPUTuning(kind);
    const tol = backend === 'webgpu' ? 1e-4 : 1e-5;
    const rand = seededRandom(83);
    const fused = kind === 'gpu';
    const expectPrograms = (got: Map<string, number> | null, normalized: boolean, label: string) => {
      if (!got) return;
      expect(got.get('dynheadGroupNormPartials'), label).toBe(1);
      expect(got.get('dynheadGroupNormNormalize') ?? 0, label).toBe(normalized ? 1 : 0);
      expect(got.get('dynheadGroupNormCombine') ?? 0, label).toBe(normalized ? 0 : 1);
      expect(got.get('dynheadGroupNormApply') ?? 0, label).toBe(normalized ? 0 : 1);
    };

    // rows with a bias, ReLU and a row scale, in runs of 2500, 100 and 3000 rows, 16 channels in 4 groups
    const runsCase = async (counts: number[], c: number, label: string, normalized: boolean) => {
      const rows = counts.reduce((a, v) => a + v, 0);
      const x = Array.from({ length: rows * c }, () => rand(-1, 3));
      const bias = Array.from({ length: c }, () => rand(-0.5, 0.5));
      const gamma = Array.from({ length: c }, () => rand(0.5, 1.5));
      const beta = Array.from({ length: c }, () => rand(-0.5, 0.5));
      const scale = Array.from({ length: rows }, () => rand(0, 1));
      const [xt, bt, gt, et, st] = [tf.tensor2d(x, [rows, c]), tf.tensor1d(bias), tf.tensor1d(gamma), tf.tensor1d(beta), tf.tensor1d(scale)];
      const { value: y, kinds } = await programsOf(async () => {
        const out = groupNormInference(xt, counts, { groups: 4, gamma: gt, beta: et }, { bias: bt, relu: true, rowScale: st });
        await out.data();
        return out;
      });
      const want = new Float64Array(rows * c);
      let r0 = 0;
      for (const n of counts) {
        const run = Float64Array.from({ length: n * c }, (_, i) => x[r0 * c + i] + bias[i % c]);
        const normed = refGroupNorm(run, [1, n, 1, c], 4, gamma, beta);
        for (let i = 0; i < normed.length; i++) want[r0 * c + i] = Math.max(0, normed[i]) * scale[r0 + Math.floor(i / c)];
        r0 += n;
      }
      expect(relL2(await y.data(), want), label).toBeLessThan(tol);
      expectPrograms(kinds, normalized, label);
      tf.dispose([y, xt, bt, gt, et, st]);
    };
    await runsCase([2500, 100, 3000], 16, 'three runs', fused);
    await runsCase(Array.from({ length: 65 }, (_, i) => 2049 + (i % 3)), 4, '65 runs', false);

    // a depth node's second conv: compacted to its mask's rows, GN over them, the gated residual
    const shape: Shape4 = [1, 48, 50, 8];
    const [b, h, w, c] = shape;
    const x = Array.from({ length: b * h * w * c }, () => rand(-1, 1));
    const filter = Array.from({ length: 9 * c * c }, () => rand(-0.5, 0.5));
    const gamma = Array.from({ length: c }, () => rand(0.5, 1.5));
    const beta = Array.from({ length: c }, () => rand(-0.5, 0.5));
    const mask = randomMask(b * h * w, 0.4, rand);
    const gate = Array.from(mask, (m) => (m ? rand(0.05, 1) : 0));
    const input = Array.from({ length: b * h * w * c }, () => rand(-1, 1));
    const [xt, ft, gt, et, mt, gateT, inputT] = [tf.tensor4d(x, shape), tf.tensor4d(filter, [3, 3, c, c]), tf.tensor1d(gamma), tf.tensor1d(beta), tf.tensor4d(mask, [b, h, w, 1]), tf.tensor4d(gate, [b, h, w, 1]), tf.tensor4d(input, shape)];
    const { value: y, kinds } = await programsOf(async () => {
      const out = await sparseConv2d(xt, mt, ft, { method: 'compact', norm: { groups: 2, gamma: gt, beta: et }, gatedResidual: { input: inputT, gate: gateT } });
      await out.data();
      return out;
    });
    const normed = refPostMask(refGroupNorm(refConv({ x, shape, filter, k: 3, cout: c }), shape, 2, gamma, beta, mask), c, mask, false);
    const want = normed.map((v, i) => Math.max(0, input[i] + gate[Math.floor(i / c)] * v));
    expect(relL2(await y.data(), want), 'gated residual').toBeLessThan(tol);
    expectPrograms(kinds, fused, 'gated residual');
    tf.dispose([y, xt, ft, gt, et, mt, gateT, inputT]);
  });
});
