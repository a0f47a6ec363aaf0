import { describe, expect, it } from 'vitest';
import type { PyramidLayout } from '../pyramid';
import { BlendPyramidProgram } from './blend-pyramid-program';
import { BlendResizedProgram } from './blend-resized-program';
import { BlockCountProgram, type ListKind, PixelListProgram } from './compact-conv-program';
import { CompactGemmConvProgram, GPU_GEMM, SWIFTSHADER_GEMM } from './compact-gemm-program';
import { GateConvProgram } from './gate-conv-program';
import { GateSumsCombineProgram, GateSumsProgram, type GateSumsTerm } from './gate-sums-program';
import { ScalePathsGatesProgram } from './scale-paths-gates-program';
import { GroupNormApplyProgram } from './group-norm-programs';
import { GroupNormCombineProgram, GroupNormPartialsProgram } from './group-norm-statistics-programs';
import { DepthwiseMapProgram } from './depthwise-map-program';
import { PackVectorsProgram } from './pack-vectors-program';
import type { WebGPUProgramLike } from './masked-conv-program';
import { QuadOutputConvProgram } from './quad-output-conv-program';

/**
 * tfjs-backend-webgpu compiles a program once per key: its shaderKey, workgroup size and input
 * names (with ranks and dtypes, the same for every instance here), not its shapes, which are
 * uniforms. A constant that a program writes into its WGSL but leaves out of the key makes a
 * later program of another constant reuse the first one's pipeline and compute wrong numbers
 * (the gate sums' chunk count did, 2026-12-04). So: programs that share a key share their code.
 */
type Program = WebGPUProgramLike & { getUserCode(): string; uniforms?: string; workgroupSize?: number[] };

function keyOf(p: Program): string {
  return [p.shaderKey, (p.workgroupSize ?? []).join(','), p.variableNames.join(',')].join('|');
}

function codeOf(p: Program): string {
  return `${p.uniforms ?? ''}\n${p.getUserCode()}`;
}

/** Groups the programs by key; every group must hold one code. Returns the key and code counts. */
function expectKeysCoverCode(name: string, programs: Program[]): { keys: number; codes: number } {
  const codeByKey = new Map<string, string>();
  for (const p of programs) {
    const key = keyOf(p);
    const code = codeOf(p);
    const seen = codeByKey.get(key);
    if (seen === undefined) codeByKey.set(key, code);
    else expect(code === seen, `${name}: two programs of key ${key} differ in their code`).toBe(true);
  }
  return { keys: codeByKey.size, codes: new Set(programs.map(codeOf)).size };
}

/** Every combination of the given options. */
function product<T extends Record<string, readonly unknown[]>>(options: T): { [K in keyof T]: T[K][number] }[] {
  return Object.entries(options).reduce<Record<string, unknown>[]>(
    (all, [key, values]) => all.flatMap((o) => values.map((v) => ({ ...o, [key]: v }))),
    [{}],
  ) as { [K in keyof T]: T[K][number] }[];
}

// two pyramids of three levels, of other sizes (their sizes are uniforms: the same code), and one of two
const PYRAMIDS: PyramidLayout[] = [
  { batch: 1, sizes: [[9, 11], [5, 6], [3, 3]] },
  { batch: 2, sizes: [[40, 52], [20, 26], [10, 13]] },
  { batch: 1, sizes: [[9, 11], [5, 6]] },
];
const rows = (l: PyramidLayout) => l.sizes.reduce((a, [h, w]) => a + l.batch * h * w, 0);
const ACTIVATION = 'fn gateActivation(v : f32) -> f32 {\n  return max(v, 0.0);\n}';

describe('WebGPU programs: a shader key covers the code', () => {
  it('gate sums and their combine (terms, a map read twice, chunk counts, partial form, threads, pyramids)', () => {
    const terms: GateSumsTerm[][] = [
      [{ map: 0, pooled: true }],
      [{ map: 0, pooled: false }, { map: 1, pooled: true }],
      // one map read plainly and pooled (a depth node's gate)
      [{ map: 0, pooled: false }, { map: 0, pooled: true }],
    ];
    const forms: [number, boolean][] = [[1, false], [1, true], [3, true], [5, true]];
    const programs = product({ batch: [1, 3], terms, threads: [4, 256], form: forms, pyramid: [null, ...PYRAMIDS] }).map((o) => {
      const maps = Math.max(...o.terms.map((t) => t.map)) + 1;
      return new GateSumsProgram(o.batch, o.terms, o.threads, Array.from({ length: maps }, () => o.pyramid), o.form[0], o.form[1]);
    });
    const combines = product({ batch: [1, 3], terms: [[1], [2], [2, 3]], chunks: [1, 3, 5], prev: [false, true] }).map((o) => new GateSumsCombineProgram(o.batch, o.terms, o.chunks, o.prev));
    // maps of one layout share its level uniforms: which share is in the code (the sizes are not)
    const pairs: PyramidLayout[][] = [[PYRAMIDS[0], PYRAMIDS[0]], [PYRAMIDS[0], PYRAMIDS[1]], [PYRAMIDS[1], PYRAMIDS[1]], [PYRAMIDS[1], { ...PYRAMIDS[1] }], [PYRAMIDS[0], PYRAMIDS[1], PYRAMIDS[0]]];
    const shared = pairs.map((pyramids) => new GateSumsProgram(1, pyramids.map((_, m) => ({ map: m, pooled: false })), 4, pyramids));
    // two maps sharing, two not, three with the first and last sharing; a layout of three levels is 10 uniforms (4 starts, 3 heights, 3 widths)
    expect(expectKeysCoverCode('GateSumsProgram', shared).codes).toBe(3);
    expect([shared[0].uniforms, shared[1].uniforms].map((d) => d?.split(',').length)).toEqual([10 + 1, 2 * 10 + 1]);
    const sums = expectKeysCoverCode('GateSumsProgram', programs);
    // the terms, the threads, the form (chunks, partial) and the level count make codes; sizes and batch do not
    expect(sums.codes).toBe(3 * 2 * 4 * 3);
    expect(sums.keys).toBeGreaterThanOrEqual(sums.codes);
    expect(expectKeysCoverCode('GateSumsCombineProgram', combines).codes).toBe(3 * 3 * 2);
    expect(() => new GateSumsProgram(1, [{ map: 1, pooled: false }], 4, [null])).toThrow('GateSumsProgram: a term reads a map outside 0..0');
    expect(() => new GateSumsProgram(1, [{ map: 0, pooled: false }], 4, [null], 3, false)).toThrow('GateSumsProgram: chunks > 1 write partial sums');
  });

  it('scale paths with their gates (pixels, lanes, activations, pyramids, channels)', () => {
    const programs = product({ pixels: [1, 4, 8], lanes: [1, 8], activation: [ACTIVATION, ACTIVATION.replace('max(v, 0.0)', '2.0 * max(v, 0.0)')], pyramid: PYRAMIDS, channels: [8, 16], towers: [undefined, { xRow1: 0 }, { xRow1: 700 }] }).map(
      (o) => new ScalePathsGatesProgram(o.pyramid, o.channels, o.activation, o.pixels, o.lanes, 0, o.towers),
    );
    const { codes } = expectKeysCoverCode('ScalePathsGatesProgram', programs);
    // sizes, channels and input rows are uniforms: pixels, lanes, activation, level count and one tower or two make the codes
    expect(codes).toBe(3 * 2 * 2 * 2 * 2);
    expect(() => new ScalePathsGatesProgram({ batch: 1, sizes: [[4, 4]] }, 8, ACTIVATION, 4, 8)).toThrow('ScalePathsGatesProgram: a pyramid of at least two levels');
  });

  it('gate convs (pixels, lanes, filters, activations, pyramids)', () => {
    const programs = product({ pixels: [1, 4, 8], lanes: [1, 8], filters: [1, 2], activation: [undefined, ACTIVATION], shape: [[1, 9, 11, 8], [2, 5, 7, 16]], pyramid: [undefined, ...PYRAMIDS] })
      .filter((o) => o.filters === 1 || o.activation !== undefined)
      .map((o) => {
        const shape = o.pyramid ? [1, rows(o.pyramid), 1, o.shape[3]] : o.shape;
        return new GateConvProgram(shape, o.activation, o.pixels, o.pyramid, o.filters, o.lanes);
      });
    const { codes } = expectKeysCoverCode('GateConvProgram', programs);
    expect(codes).toBeGreaterThan(3 * 2 * 3);
  });

  it('quad-output convs (pixels, lanes, bias, pyramids)', () => {
    const programs = product({ pixels: [1, 4, 8], lanes: [1, 8], biased: [false, true], shape: [[1, 9, 11, 8], [2, 5, 7, 16]], pyramid: [undefined, ...PYRAMIDS] }).map((o) => {
      const shape = o.pyramid ? [1, rows(o.pyramid), 1, o.shape[3]] : o.shape;
      return new QuadOutputConvProgram(shape, o.pixels, o.lanes, o.biased, o.pyramid);
    });
    // pixels x lanes x bias x (a map, or a pyramid of three levels or of two)
    expect(expectKeysCoverCode('QuadOutputConvProgram', programs).codes).toBe(3 * 2 * 2 * 3);
  });

  it('GEMM convs (listed parts, scattered rows, inputs through an affine form, tilings, pyramids)', () => {
    const gemms = product({ part: ['whole', 'first', 'second'] as const, scattered: [false, true], affine: [undefined, { relu: true }, { relu: false }], tuning: [GPU_GEMM, SWIFTSHADER_GEMM], pyramid: [undefined, ...PYRAMIDS] }).map(
      (o) => new CompactGemmConvProgram(o.pyramid ? rows(o.pyramid) : 99, 16, 3, { part: o.part, scattered: o.scattered, inputAffine: o.affine, tuning: o.tuning, pyramid: o.pyramid }),
    );
    expect(expectKeysCoverCode('CompactGemmConvProgram', gemms).codes).toBeGreaterThan(3 * 2 * 3);
    // a carry (the scale node's gates copied ahead of the scale and shift) only with scaleShift
    const combines = product({ batch: [1, 5], channels: [8, 16], bias: [false, true], scaleShift: [false, true], carry: [undefined, { values: 30, rows: 4, stride: 4 }, { values: 70, rows: 9, stride: 4 }, { values: 30, rows: 4, stride: 1 }] })
      .filter((o) => o.scaleShift || !o.carry)
      .map((o) => new GroupNormCombineProgram(o.batch, o.channels, 1e-5, { groups: 2, bias: o.bias }, o.scaleShift, o.carry));
    // with no carry, bias and the form (4); with a carry of stride 4 or 1, bias (4): counts and rows are uniforms
    expect(expectKeysCoverCode('GroupNormCombineProgram', combines).codes).toBe(8);
    // paired parameters: two sets (the default), or four (two towers' scale nodes); the pair's first run is a uniform
    const paired = product({ pairRun: [2, 6], normSets: [undefined, 2, 4], scaleShift: [false, true] }).map((o) => new GroupNormCombineProgram(8, 16, 1e-5, { groups: 2, bias: false, pairRun: o.pairRun, normSets: o.normSets }, o.scaleShift));
    expect(expectKeysCoverCode('GroupNormCombineProgram', paired).codes).toBe(2 * 2);
    expect(() => new GroupNormCombineProgram(8, 16, 1e-5, { groups: 2, bias: false, normSets: 4 })).toThrow('GroupNormCombineProgram: normSets (4) needs pairRun and a whole number from 2');
    expect(() => new GroupNormCombineProgram(1, 8, 1e-5, { groups: 2, bias: false }, false, { values: 3, rows: 1, stride: 1 })).toThrow('GroupNormCombineProgram: carry needs the scale-and-shift form');
  });

  it('pixel lists and their block counts (kinds, threads, one pass or counted, pyramids)', () => {
    const kinds: ListKind[] = ['plain', 'dilated', 'dilatedAndPlain'];
    const counts = product({ pixels: [300, 5000], kind: kinds, threads: [4, 64], pyramid: [undefined, ...PYRAMIDS] }).map(
      (o) => new BlockCountProgram(o.pixels, o.kind, o.threads, o.pyramid),
    );
    const lists = product({ pixels: [300, 5000], counted: [false, true], kind: kinds, threads: [4, 64], pyramid: [undefined, ...PYRAMIDS] })
      .filter((o) => o.counted || o.pixels <= 300)
      .map((o) => new PixelListProgram(o.pixels, o.counted, o.kind, o.threads, o.pyramid));
    expect(expectKeysCoverCode('BlockCountProgram', counts).codes).toBeGreaterThan(1);
    expect(expectKeysCoverCode('PixelListProgram', lists).codes).toBeGreaterThan(1);
  });

  it('per-pixel programs: blends, the depthwise map, GroupNorm apply (channel quads, lanes)', () => {
    // the statistics form: groups and eps in the code, the chunk count and the head rows uniforms
    const statistics = [undefined, { groups: 2, eps: 1e-5, chunks: 1 }, { groups: 2, eps: 1e-5, chunks: 3 }, { groups: 1, eps: 1e-5, chunks: 1 }, { groups: 2, eps: 1e-3, chunks: 1 }];
    const blends = product({ pyramid: PYRAMIDS, channels: [8, 16], quads: [1, 2, 16], affine: [false, true], head: [0, 3], statistics, towers: [undefined, { xRow1: 0 }, { xRow1: 700 }] })
      .filter((o) => o.affine || !o.statistics)
      .map((o) => new BlendPyramidProgram(o.pyramid, o.channels, o.quads, o.affine, { paths: o.head, stats: o.head + 1 }, o.statistics, 0, o.towers));
    expect(() => new BlendPyramidProgram(PYRAMIDS[0], 12, 1, true, { paths: 0, stats: 0 }, { groups: 2, eps: 1e-5, chunks: 1 })).toThrow('BlendPyramidProgram: statistics need the paths as their convs and channels of a group in fours (12 channels, 2 groups)');
    // GroupNorm's sums with the scale node's gates carried ahead of them
    const partials = product({ batch: [1, 4], chunks: [1, 3], carry: [undefined, { values: 30, rows: 4, channels: 8, stride: 4 }, { values: 70, rows: 9, channels: 8, stride: 4 }, { values: 30, rows: 4, channels: 8, stride: 1 }] }).map(
      (o) => new GroupNormPartialsProgram(o.batch, o.chunks, { groups: 2, bias: false, masked: false, source: 'rows', lanes: 4, activeRows: false, segmented: o.batch > 1, threads: 4 }, o.carry),
    );
    // no carry, or one of stride 4 or 1; its counts, the batch and the chunks are uniforms or the dispatch
    expect(expectKeysCoverCode('GroupNormPartialsProgram', partials).codes).toBe(3);
    expect(() => new GroupNormPartialsProgram(1, 1, { groups: 2, bias: false, masked: false, source: 'depthwise', lanes: 4, activeRows: false, segmented: false, threads: 4 }, { values: 3, rows: 1, channels: 8, stride: 1 })).toThrow('GroupNormPartialsProgram: carry reads the head of a map of rows');
    const packs = product({ sizes: [[8, 8], [16, 16], [8, 8, 1, 1], [16, 16, 1, 1]], extra: [0, 4] }).map((o) => new PackVectorsProgram(o.sizes, o.sizes.reduce((a, v) => a + v, 0) + o.extra));
    expect(expectKeysCoverCode('PackVectorsProgram', packs).codes).toBe(2);
    expect(() => new PackVectorsProgram([4, 4], 7)).toThrow('PackVectorsProgram: total 7 is short of the vectors\' 8 values');
    const resized = product({ shape: [[1, 9, 11, 8], [2, 5, 7, 16]], two: [false, true], weighted: [false, true], align: [false, true], quads: [1, 16] }).map(
      (o) => new BlendResizedProgram(o.shape, o.two, o.weighted, o.align, o.quads),
    );
    const maps = product({ shape: [[1, 9, 11, 8], [2, 5, 7, 16]], lanes: [1, 4] as const, pixels: [1, 4], quads: [1, 2] }).map(
      (o) => new DepthwiseMapProgram(o.shape, o.lanes, o.pixels, o.quads),
    );
    const applies = product({ shape: [[99, 8], [40, 16]], relu: [false, true], residual: [false, true], masked: [false, true], lanes: [1, 4] as const, quads: [1, 2, 16] }).map(
      (o) => new GroupNormApplyProgram(o.shape, { relu: o.relu, rowScale: false, residual: o.residual }, o.masked, 'rows', o.lanes, o.quads),
    );
    // level counts 2 x quads 3 x (plain, affine, three statistics forms: groups and eps; chunks are a uniform) x one tower or two
    expect(expectKeysCoverCode('BlendPyramidProgram', blends).codes).toBe(2 * 3 * 5 * 2);
    expect(expectKeysCoverCode('BlendResizedProgram', resized).codes).toBeGreaterThan(1);
    expect(expectKeysCoverCode('DepthwiseMapProgram', maps).codes).toBeGreaterThan(1);
    expect(expectKeysCoverCode('GroupNormApplyProgram', applies).codes).toBeGreaterThan(1);
  });
});
