import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../test/backends';
import { addCosts, chargeCost, convCost, gateSumColumns, gateSums } from './index';
import { refMaxPool3x3 } from './reference.test-util';
import { programsOf } from './webgpu-programs.test-util';

describe('convCost', () => {
  it('counts multiply-adds per output pixel as SPEC section 2', () => {
    // depthwise path unit C*9 + C, depth-node conv unit C*C*9 + C
    expect(convCost({ kind: 'depthwise', inChannels: 256, outChannels: 256, kernel: 3 })).toBe(256 * 9 + 256);
    expect(convCost({ kind: 'conv', inChannels: 256, outChannels: 256, kernel: 3 })).toBe(256 * 256 * 9 + 256);
    expect(convCost({ kind: 'conv', inChannels: 64, outChannels: 32, kernel: 1, norm: false })).toBe(64 * 32);
    expect(convCost({ kind: 'depthwise', inChannels: 8, outChannels: 8, kernel: 5, norm: false })).toBe(200);
  });
  it('rejects bad specs by name', () => {
    expect(() => convCost({ kind: 'conv', inChannels: 0, outChannels: 4, kernel: 3 })).toThrow(/inChannels must be a positive integer, got 0/);
    expect(() => convCost({ kind: 'depthwise', inChannels: 4, outChannels: 8, kernel: 3 })).toThrow(/inChannels === outChannels, got 4 and 8/);
  });
});

describe.each(TEST_BACKENDS)('gateSums on %s', (backend) => {
  it('per image, sum_j unit_j * [sum of map j (or of its 3x3 max-pool), count of its nonzero pixels] equals float64 sums (8 maps of 3 sizes, over one kernel\'s 6)', async () => {
    await activate(backend);
    const rand = seededRandom(21);
    const b = 3;
    const sizes: [number, number][] = [
      [37, 29],
      [19, 15],
      [5, 4],
    ];
    const maps = Array.from({ length: 8 }, (_, j) => {
      const [h, w] = sizes[j % 3];
      // about half the pixels exactly 0 (GeReTanH's off pixels), image 2 all 0
      const values = Array.from({ length: b * h * w }, (_, i) => (i >= 2 * h * w || rand() < 0.5 ? 0 : Math.fround(rand(1e-4, 1))));
      return { values, h, w, tensor: tf.tensor4d(values, [b, h, w, 1]) };
    });
    const units = maps.map((_, j) => [590080, 2560, 1][j % 3] * (j + 1));
    const sums = gateSums(
      maps.map((m) => m.tensor),
      units,
    );
    expect(sums.shape).toEqual([b, 2]);
    const got = await sums.data();
    for (let i = 0; i < b; i++) {
      let soft = 0;
      let used = 0;
      for (const [j, m] of maps.entries()) {
        const image = m.values.slice(i * m.h * m.w, (i + 1) * m.h * m.w);
        soft += units[j] * image.reduce((a, v) => a + v, 0);
        used += units[j] * image.filter((v) => v !== 0).length;
      }
      if (soft === 0) expect([got[2 * i], got[2 * i + 1]]).toEqual([0, 0]);
      else {
        expect(relL2([got[2 * i]], [soft]), `soft of image ${i}`).toBeLessThan(1e-6);
        expect(relL2([got[2 * i + 1]], [used]), `used of image ${i}`).toBeLessThan(1e-6);
      }
    }
    // the odd maps as their 3x3 max-pools ('same'), taken as they are read
    const pooled = maps.map((_, j) => j % 2 === 1);
    const gotPooled = await gateSums(
      maps.map((m) => m.tensor),
      units,
      pooled,
    ).data();
    for (let i = 0; i < b; i++) {
      let soft = 0;
      let used = 0;
      for (const [j, m] of maps.entries()) {
        const image = m.values.slice(i * m.h * m.w, (i + 1) * m.h * m.w);
        const values = pooled[j] ? refMaxPool3x3(image, 1, m.h, m.w) : image;
        soft += units[j] * values.reduce((a, v) => a + v, 0);
        used += units[j] * values.filter((v) => v !== 0).length;
      }
      if (soft === 0) expect([gotPooled[2 * i], gotPooled[2 * i + 1]]).toEqual([0, 0]);
      else {
        expect(relL2([gotPooled[2 * i]], [soft]), `pooled: soft of image ${i}`).toBeLessThan(1e-6);
        expect(relL2([gotPooled[2 * i + 1]], [used]), `pooled: used of image ${i}`).toBeLessThan(1e-6);
      }
    }
    // the two 5x4 maps apart by column (on webgpu one program: no combine), against float64 sums
    const small = [2, 5];
    const { value: two, kinds: twoKinds } = await programsOf(async () =>
      gateSumColumns(
        small.map((j) => maps[j].tensor),
        small.map((j) => units[j]),
        small.map((j) => pooled[j]),
      ),
    );
    if (twoKinds) expect([...twoKinds]).toEqual([['dynheadGateSums', 1]]);
    const [twoSoft, twoUsed] = [await two.soft.data(), await two.used.data()];
    for (let i = 0; i < b; i++) {
      let soft = 0;
      let used = 0;
      for (const j of small) {
        const m = maps[j];
        const image = m.values.slice(i * m.h * m.w, (i + 1) * m.h * m.w);
        const values = pooled[j] ? refMaxPool3x3(image, 1, m.h, m.w) : image;
        soft += units[j] * values.reduce((a, v) => a + v, 0);
        used += units[j] * values.filter((v) => v !== 0).length;
      }
      if (soft === 0) expect([twoSoft[i], twoUsed[i]]).toEqual([0, 0]);
      else {
        expect(relL2([twoSoft[i]], [soft]), `two maps: soft of image ${i}`).toBeLessThan(1e-6);
        expect(relL2([twoUsed[i]], [used]), `two maps: used of image ${i}`).toBeLessThan(1e-6);
      }
    }
    tf.dispose([two.soft, two.used]);
    expect(() => gateSums([maps[0].tensor], [1], [])).toThrow('gateSums: pooled must have 1 flags, got 0');
    // one map, no units: its plain sum and count
    const one = await gateSums([maps[0].tensor]).data();
    expect(one[1]).toBe(maps[0].values.slice(0, 37 * 29).filter((v) => v !== 0).length);
    const bad = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    expect(() => gateSums([bad])).toThrow('gateSums: gates[0] must be [1,H,W,1] like gates[0], got shape [1,2,2,3]');
    expect(() => gateSums([maps[0].tensor], [1, 2])).toThrow('gateSums: units must be 1 finite numbers >= 0, got [1,2]');
    tf.dispose([sums, bad, ...maps.map((m) => m.tensor)]);
  });
});

describe.each(TEST_BACKENDS)('gateSums of a pass\'s charges on %s', (backend) => {
  it('45 maps, each charged plainly and as its 3x3 max-pool (90 terms), equal float64 sums; webgpu binds each map once, in 7 programs and 2 combines', async () => {
    await activate(backend);
    const rand = seededRandom(22);
    const [b, h, w] = [2, 6, 5];
    const maps = Array.from({ length: 45 }, () => {
      const values = Array.from({ length: b * h * w }, () => (rand() < 0.6 ? 0 : Math.fround(rand(1e-3, 1))));
      return { values, tensor: tf.tensor4d(values, [b, h, w, 1]) };
    });
    // a depth node's charges: its gate under conv1 (pooled) and conv2 (plain), with units of either size
    const gates = maps.flatMap((m) => [m.tensor, m.tensor]);
    const units = gates.map((_, j) => [590080, 2560, 7][j % 3]);
    const pooled = gates.map((_, j) => j % 2 === 0);
    const { value: sums, kinds } = await programsOf(async () => gateSums(gates, units, pooled));
    if (kinds) {
      // 45 maps, 7 a program (its 8 bindings less the output); 6 partial sums a combine, the next adding the first's
      expect(kinds.get('dynheadGateSums')).toBe(7);
      expect(kinds.get('dynheadGateSumsCombine')).toBe(2);
    }
    // the same sums apart (soft [B], used [B]): the last combine writes them by column, cut by copies
    const { value: columns, kinds: columnKinds } = await programsOf(async () => gateSumColumns(gates, units, pooled));
    if (columnKinds) expect([...columnKinds]).toEqual([...(kinds ?? [])]);
    const got = await sums.data();
    const [gotSoft, gotUsed] = [await columns.soft.data(), await columns.used.data()];
    expect([columns.soft.shape, columns.used.shape]).toEqual([[b], [b]]);
    for (let n = 0; n < b; n++) {
      let [soft, used] = [0, 0];
      for (const [j, g] of gates.entries()) {
        const image = maps[j >> 1].values.slice(n * h * w, (n + 1) * h * w);
        const values = pooled[j] ? refMaxPool3x3(image, 1, h, w) : image;
        soft += units[j] * values.reduce((a, v) => a + v, 0);
        used += units[j] * values.filter((v) => v !== 0).length;
        expect(g.shape).toEqual([b, h, w, 1]);
      }
      expect(relL2([got[2 * n]], [soft]), `soft of image ${n}`).toBeLessThan(1e-6);
      expect(relL2([got[2 * n + 1]], [used]), `used of image ${n}`).toBeLessThan(1e-6);
      expect(relL2([gotSoft[n]], [soft]), `column: soft of image ${n}`).toBeLessThan(1e-6);
      expect(relL2([gotUsed[n]], [used]), `column: used of image ${n}`).toBeLessThan(1e-6);
    }
    tf.dispose([sums, columns.soft, columns.used, ...maps.map((m) => m.tensor)]);
  });
});

describe.each(TEST_BACKENDS)('chargeCost on %s', (backend) => {
  // two images 2x3: image 0 gates [0, .5, 0, 1, .25, 0], image 1 all zero
  const gates = [0, 0.5, 0, 1, 0.25, 0, 0, 0, 0, 0, 0, 0];

  it('soft = sum(gate)*unit, used = #nonzero*unit, full = H*W*unit, per image; addCosts sums', async () => {
    await activate(backend);
    const gate = tf.tensor4d(gates, [2, 2, 3, 1]);
    const c = chargeCost(gate, 10);
    expect(Array.from(await c.soft.data())).toEqual([17.5, 0]);
    expect(Array.from(await c.used.data())).toEqual([30, 0]);
    expect(Array.from(await c.full.data())).toEqual([60, 60]);
    const s = addCosts(c, chargeCost(gate, 1));
    expect(Array.from(await s.soft.data())).toEqual([19.25, 0]);
    expect(Array.from(await s.used.data())).toEqual([33, 0]);
    expect(Array.from(await s.full.data())).toEqual([66, 66]);
  });

  it('soft is differentiable in the gate unless detachSoft', async () => {
    await activate(backend);
    const gate = tf.tensor4d(gates, [2, 2, 3, 1]);
    const g = await tf.grad((v: tf.Tensor) => tf.sum(chargeCost(v as tf.Tensor4D, 7).soft))(gate).data();
    expect(Array.from(g)).toEqual(new Array(12).fill(7));
    const g0 = await tf.grad((v: tf.Tensor) => tf.sum(chargeCost(v as tf.Tensor4D, 7, { detachSoft: true }).soft))(gate).data();
    expect(Array.from(g0)).toEqual(new Array(12).fill(0));
    // the forward value is unchanged by detachSoft
    expect(Array.from(await chargeCost(gate, 7, { detachSoft: true }).soft.data())).toEqual([12.25, 0]);
  });

  it('does not leak', async () => {
    await activate(backend);
    const gate = tf.tensor4d(gates, [2, 2, 3, 1]);
    const step = () => {
      // addCosts returns new tensors: the caller owns (here: tidies) the operands
      const c = tf.tidy(() => {
        const s = addCosts(chargeCost(gate, 3), chargeCost(gate, 2, { detachSoft: true }));
        return [s.soft, s.used, s.full];
      });
      const g = tf.grad((v: tf.Tensor) => tf.sum(chargeCost(v as tf.Tensor4D, 7).soft))(gate);
      tf.dispose([...c, g]);
    };
    step();
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(n);
  });
});
