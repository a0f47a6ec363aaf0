// The listed conv's tiled GEMM over two towers' maps stacked as levels of one pyramid
// (stackedLayout(layout, layout)), each row taking its own tower's filter: a detection head's cls
// and bbox towers in one dispatch. Tiles (staged or direct) may hold rows of both towers.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, activate, relL2, seededRandom } from '../../../../test/backends';
import { concatRows, levelRowStarts, packPyramid, type PyramidLayout, setWebGPUTuning, stackedLayout } from '../index';
import { refConv } from '../reference.test-util';
import { programsOf } from '../webgpu-programs.test-util';
import { CompactGemmConvProgram, GPU_GEMM, SWIFTSHADER_GEMM } from './compact-gemm-program';
import { COMPACT_CONV, type CompactConvAttrs } from './kernel-names';
import { pixelLists } from './row-ops';
import { range } from './webgpu-snippets';

const SIZES: [number, number][] = [
  [7, 10],
  [4, 5],
  [2, 3],
];
const BATCH = 2;
const CIN = 8;
/** Rows of a staged tile (compact-gemm-program.ts's TILE_ROWS), and the most a tile computes unstaged. */
const TILE_ROWS = 64;
const DIRECT_ROWS = 16;

function randoms(rand: (lo?: number, hi?: number) => number, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => rand(lo, hi));
}

/** One tower: its levels' maps [B,h,w,CIN] as arrays, and its 0/1 masks (density about 0.5). */
function tower(rand: (lo?: number, hi?: number) => number): { levels: number[][]; masks: number[][] } {
  return {
    levels: SIZES.map(([h, w]) => randoms(rand, BATCH * h * w * CIN, -1, 1)),
    masks: SIZES.map(([h, w]) => Array.from({ length: BATCH * h * w }, () => (rand() < 0.5 ? 1 : 0))),
  };
}

/** A packed pyramid of per-level arrays with `c` channels. */
function packed(levels: number[][], c: number): tf.Tensor2D {
  const maps = levels.map((x, l) => tf.tensor4d(x, [BATCH, SIZES[l][0], SIZES[l][1], c]));
  const out = packPyramid(maps);
  tf.dispose(maps);
  return out;
}

function runConv(inputs: tf.NamedTensorMap, attrs: CompactConvAttrs): tf.Tensor2D {
  return tf.engine().runKernel(COMPACT_CONV, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

describe.each(TEST_BACKENDS.filter((b) => b === 'webgpu'))('the tiled GEMM over two stacked towers on %s', (backend) => {
  afterEach(() => setWebGPUTuning(undefined));

  // towerRuns = levels * batch: tower 0 the first half of the rows; 1: the towers alternate per image
  it.each([
    ['gpu', 8, SIZES.length * BATCH],
    ['gpu', 68, SIZES.length * BATCH],
    ['gpu', 8, 1],
    ['swiftshader', 8, SIZES.length * BATCH],
    ['swiftshader', 68, SIZES.length * BATCH],
    ['swiftshader', 8, 1],
  ] as const)("as on %s, Cout %i, towerRuns %i: each listed row takes its tower's filter (float64 reference)", async (kind, cout, towerRuns) => {
    await activate(backend);
    setWebGPUTuning(kind);
    const rand = seededRandom(4242 + cout + towerRuns);
    const towers = [tower(rand), tower(rand)];
    const filters = [randoms(rand, 9 * CIN * cout, -0.5, 0.5), randoms(rand, 9 * CIN * cout, -0.5, 0.5)];
    const layout: PyramidLayout = { batch: BATCH, sizes: SIZES };
    const stacked = stackedLayout(layout, layout);
    const towerX = towers.map((t) => packed(t.levels, CIN));
    const towerMasks = towers.map((t) => packed(t.masks, 1));
    const x = concatRows(towerX);
    const mask = concatRows(towerMasks);
    const list = pixelLists(mask, 'plain', stacked);
    const [filter, filter1] = filters.map((f) => tf.tensor4d(f, [3, 3, CIN, cout]));
    const attrs: CompactConvAttrs = { depthwise: false, pyramid: stacked, towerRuns, part: 'whole' };
    const { value: rows, kinds } = await programsOf(async () => runConv({ x, filter, list, filter1 }, attrs));
    expect(kinds).toEqual(new Map([['dynheadCompactGemmConv', 1]]));
    const listed = await list.data();
    const got = await rows.data();
    const count = listed[0];

    // the float64 conv of every stacked level with either filter; a pixel's run picks one
    const starts = levelRowStarts(stacked);
    const want = filters.map((f) =>
      stacked.sizes.map(([h, w], l) => refConv({ x: towers[Math.floor(l / SIZES.length)].levels[l % SIZES.length], shape: [BATCH, h, w, CIN], filter: f, k: 3, cout })),
    );
    // levels ascend: the last whose first row is at or below p
    const levelOf = (p: number): number => starts.filter((s) => s <= p).length - 1;
    const towerOf = (p: number): number => {
      const l = levelOf(p);
      const run = l * BATCH + Math.floor((p - starts[l]) / (stacked.sizes[l][0] * stacked.sizes[l][1]));
      return Math.floor(run / towerRuns) % 2;
    };
    const gotOf: number[][] = [[], []];
    const wantOf: number[][] = [[], []];
    const rowTowers: number[] = [];
    for (let r = 0; r < count; r++) {
      const p = listed[1 + r];
      if (r > 0) expect(p, 'the list ascends').toBeGreaterThan(listed[r]);
      const tw = towerOf(p);
      rowTowers.push(tw);
      const l = levelOf(p);
      gotOf[tw].push(...got.slice(r * cout, (r + 1) * cout));
      wantOf[tw].push(...want[tw][l].slice((p - starts[l]) * cout, (p - starts[l] + 1) * cout));
    }
    // some tile (of over DIRECT_ROWS rows, so staged on a GPU) holds rows of both towers
    const straddles = range(Math.ceil(count / TILE_ROWS)).some((t) => {
      const here = rowTowers.slice(t * TILE_ROWS, (t + 1) * TILE_ROWS);
      return here.length > DIRECT_ROWS && here.includes(0) && here.includes(1);
    });
    expect(straddles, 'a tile straddles the towers').toBe(true);
    for (const tw of [0, 1]) {
      expect(wantOf[tw].length, `tower ${tw} has listed rows`).toBeGreaterThan(0);
      expect(relL2(gotOf[tw], wantOf[tw]), `tower ${tw}`).toBeLessThan(1e-5);
    }
    tf.dispose([x, mask, list, filter, filter1, rows, ...towerX, ...towerMasks]);
  });

  it('names what the towers need', async () => {
    await activate(backend);
    const layout = stackedLayout({ batch: 1, sizes: [[4, 5]] }, { batch: 1, sizes: [[4, 5]] });
    const x = tf.zeros([40, 4]) as tf.Tensor2D;
    const list = pixelLists(tf.ones([40, 1]) as tf.Tensor2D, 'plain', layout);
    const filter = tf.zeros([3, 3, 4, 4]);
    const other = tf.zeros([3, 3, 4, 8]);
    const attrs: CompactConvAttrs = { depthwise: false, pyramid: layout, towerRuns: 1 };
    expect(() => runConv({ x, filter, list }, attrs)).toThrow(`${COMPACT_CONV}: towerRuns needs the second tower's filter1`);
    expect(() => runConv({ x, filter, list, filter1: filter }, { depthwise: false, pyramid: layout })).toThrow(`${COMPACT_CONV}: filter1 needs towerRuns (which runs take it)`);
    expect(() => runConv({ x, filter, list, filter1: other }, attrs)).toThrow(`${COMPACT_CONV}: filter1 has shape [3,3,4,8]; it must be filter's [3,3,4,4]`);
    expect(() => runConv({ x, filter, list, filter1: filter }, { ...attrs, towerRuns: 1.5 })).toThrow('CompactGemmConvProgram: towerRuns must be a positive whole number, got 1.5');
    expect(() => runConv({ x, filter, list, filter1: filter }, { ...attrs, towerRuns: 0 })).toThrow('CompactGemmConvProgram: towerRuns must be a positive whole number, got 0');
    // a map, not a pyramid: no runs of levels to take the towers from
    const map = tf.zeros([2, 4, 5, 4]);
    expect(() => runConv({ x: map, filter, list, filter1: filter }, { depthwise: false, towerRuns: 1 })).toThrow('CompactGemmConvProgram: towerRuns (1) needs a pyramid (the towers\' maps stacked as its levels)');
    // three input channels: the per-row program, which has no towers
    const [x3, f3] = [tf.zeros([2, 4, 5, 3]), tf.zeros([3, 3, 3, 4])];
    expect(() => runConv({ x: x3, filter: f3, list, filter1: f3 }, { depthwise: false, towerRuns: 1 })).toThrow(`${COMPACT_CONV}: only the tiled GEMM takes two towers (filter1)`);
    tf.dispose([x, list, filter, other, map, x3, f3]);
  });
});

describe('CompactGemmConvProgram with towers', () => {
  const layout = (sizes: [number, number][], batch: number) => stackedLayout({ batch, sizes }, { batch, sizes });

  it('keys its own shader, one for every size and towerRuns (uniforms), and takes Filt1 last', () => {
    for (const tuning of [GPU_GEMM, SWIFTSHADER_GEMM]) {
      const plain = new CompactGemmConvProgram(384, 16, 3, { tuning, pyramid: layout(SIZES, 2) });
      const a = new CompactGemmConvProgram(384, 16, 3, { tuning, pyramid: layout(SIZES, 2), towerRuns: 6 });
      const b = new CompactGemmConvProgram(1000, 16, 3, { tuning, pyramid: layout([[9, 11], [5, 6], [3, 3]], 3), towerRuns: 9 });
      expect(a.shaderKey).toBe(`${plain.shaderKey}_towers`);
      expect(b.shaderKey).toBe(a.shaderKey);
      expect(b.getUserCode()).toBe(a.getUserCode());
      expect(b.uniforms).toBe(a.uniforms);
      expect(a.variableNames).toEqual(['X', 'Filt', 'List', 'Filt1']);
      const affine = new CompactGemmConvProgram(384, 16, 3, { tuning, pyramid: layout(SIZES, 2), towerRuns: 6, inputAffine: { relu: true } });
      expect(affine.variableNames).toEqual(['X', 'Filt', 'List', 'Affine', 'Filt1']);
      // mapRun once, whether the affine form or the towers asked for it
      expect(affine.getUserCode().match(/fn mapRun\(/g)).toHaveLength(1);
    }
  });

  it('needs a pyramid and a positive whole number, and takes no bias', () => {
    expect(() => new CompactGemmConvProgram(99, 16, 3, { towerRuns: 2 })).toThrow("CompactGemmConvProgram: towerRuns (2) needs a pyramid (the towers' maps stacked as its levels)");
    expect(() => new CompactGemmConvProgram(384, 16, 3, { pyramid: layout(SIZES, 2), towerRuns: -1 })).toThrow('CompactGemmConvProgram: towerRuns must be a positive whole number, got -1');
    expect(() => new CompactGemmConvProgram(384, 16, 3, { pyramid: layout(SIZES, 2), towerRuns: 2, biased: true })).toThrow('CompactGemmConvProgram: towerRuns does not take a bias (one Bias would serve both towers)');
  });
});
