import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { HEAD_SERIES_COLORS, latencyFlopsChart, niceMax, PLOT_MARGIN } from './chart';
import { goalVerdict, headTable, type HeadBenchResult, signTestP } from './head';
import { FULL_IMAGE, levelShapes, pixelCount } from './levels';
import type { Machine } from './machine';
import { median, timeInterleaved } from './measure';
import { recordResult, updateReadmeSection } from './results';
import { fullCostPerPixel, headVariants, toGFlops } from './variants';

function variant(channels: number, name: string) {
  const v = headVariants(channels).find((x) => x.name === name);
  if (!v) throw new Error(`no head variant '${name}'`);
  return v.config;
}

describe('head FLOPs at the paper setting (800x1333, C=256)', () => {
  it('has the FCOS level sizes of a 800x1344 padded input', () => {
    expect(levelShapes(FULL_IMAGE)).toEqual([
      [100, 168],
      [50, 84],
      [25, 42],
      [13, 21],
      [7, 11],
    ]);
    expect(pixelCount(levelShapes(FULL_IMAGE))).toBe(22400);
  });

  it('charges each head the hand-computed full cost, within 1% of the official table', () => {
    const gflops = (name: string) => toGFlops(fullCostPerPixel(variant(256, name)) * 22400);
    // conv unit 256*256*9 + 256 = 590080; depthwise path 256*9 + 256 = 2560, + its gate conv 256*9
    // in the dynamic head = 4864.
    expect(gflops('FCOS (4 conv)')).toBeCloseTo((8 * 590080 * 22400) / 2 ** 30, 9); // 98.48
    expect(gflops('Fix D4')).toBeCloseTo((8 * (2 * 2560 + 2 * 590080) * 22400) / 2 ** 30, 9); // 197.82
    expect(gflops('Fix D8')).toBeCloseTo((16 * (2 * 2560 + 2 * 590080) * 22400) / 2 ** 30, 9); // 395.63
    expect(gflops('Dynamic D8 Mid')).toBeCloseTo((16 * (2 * 4864 + 2 * 590080) * 22400) / 2 ** 30, 9); // 397.17
    // Official: FCOS D2 98.0, Fix D4 198.6, Fix D8 397.2 (averaged over COCO val sizes).
    expect(Math.abs(gflops('FCOS (4 conv)') / 98.0 - 1)).toBeLessThan(0.01);
    expect(Math.abs(gflops('Fix D4') / 198.6 - 1)).toBeLessThan(0.01);
    expect(Math.abs(gflops('Fix D8') / 397.2 - 1)).toBeLessThan(0.01);
  });

  it('equals the official full cost of the golden D4 head (C=64, 256x320 input)', () => {
    const d4 = variant(64, 'Dynamic D4 Mid');
    const pixels = pixelCount(levelShapes({ height: 256, width: 320 }));
    expect(pixels).toBe(1280 + 320 + 80 + 20 + 6);
    // golden/fcos-dynhead-d4-c64.safetensors: train.cost.full = eval.cost.full = 1041178624 per image.
    expect(fullCostPerPixel(d4) * pixels).toBe(1041178624);
  });

  it('benchmarks nine heads: FCOS, Fix D4/D8, dynamic D4/D8 at Low/Mid/High', () => {
    const names = headVariants(64).map((v) => v.name);
    expect(names).toEqual([
      'FCOS (4 conv)',
      'Fix D4',
      'Fix D8',
      'Dynamic D4 Low',
      'Dynamic D4 Mid',
      'Dynamic D4 High',
      'Dynamic D8 Low',
      'Dynamic D8 Mid',
      'Dynamic D8 High',
    ]);
  });
});

describe('measurement helpers', () => {
  it('median of odd and even samples', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/no samples/);
  });

  it('timeInterleaved runs every run once per round, warm-up rounds first, and keeps each run\'s samples apart', async () => {
    const calls: string[] = [];
    const run = (name: string) => async () => {
      calls.push(name);
    };
    const timings = await timeInterleaved([run('a'), run('b'), run('c')], 2, 1);
    expect(calls.join('')).toBe('abcabcabc');
    expect(timings.map((t) => t.samplesMs.length)).toEqual([2, 2, 2]);
    await expect(timeInterleaved([run('a')], 0, 0)).rejects.toThrow(/repeats must be a positive integer, got 0/);
  });

  it('rounds axes up to a nice number at least 5% above the largest value', () => {
    expect(niceMax(10)).toBe(12);
    expect(niceMax(0.9)).toBe(1);
    expect(niceMax(97)).toBe(120);
    expect(niceMax(0)).toBe(1);
  });
});

describe('latency-vs-FLOPs chart', () => {
  it('draws each point at its (GFLOPs, ms) position in its series colour', () => {
    const bytes = latencyFlopsChart(
      [
        { label: 'FCOS', x: 10, y: 100, series: 'FCOS (4 conv)' },
        { label: 'mid', x: 5, y: 40, series: 'Dynamic D8' },
      ],
      { width: 600, height: 400, title: 'test' },
    );
    const png = PNG.sync.read(bytes);
    expect([png.width, png.height]).toEqual([600, 400]);
    const at = (x: number, y: number) => {
      const i = (y * png.width + x) * 4;
      return [png.data[i], png.data[i + 1], png.data[i + 2]];
    };
    const plotW = 600 - PLOT_MARGIN.left - PLOT_MARGIN.right;
    const plotH = 400 - PLOT_MARGIN.top - PLOT_MARGIN.bottom;
    // Axes run to niceMax: x to 12 GFLOPs, y to 120 ms.
    const pos = (x: number, y: number) => [Math.round(PLOT_MARGIN.left + (x / 12) * plotW), Math.round(PLOT_MARGIN.top + plotH - (y / 120) * plotH)];
    const [fx, fy] = pos(10, 100);
    const [dx, dy] = pos(5, 40);
    expect(at(fx, fy)).toEqual(HEAD_SERIES_COLORS['FCOS (4 conv)']);
    expect(at(dx, dy)).toEqual(HEAD_SERIES_COLORS['Dynamic D8']);
    expect(at(5, png.height - 5)).toEqual([255, 255, 255]);
  });
});

describe('results', () => {
  const machine: Machine = { cpu: 'test cpu', cores: 2, memoryGiB: 4, os: 'Linux', node: 'v20', tfjs: '4.22.0', backend: 'cpu', backendDetail: 'cpu' };

  it('keeps one file per backend and day: the latest run of each bench, and the runs it replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-results-'));
    try {
      const a = recordResult('head', machine, { rows: [1] }, dir, '2026-01-02');
      const b = recordResult('train-step', machine, { ms: 3 }, dir, '2026-01-02');
      recordResult('head', machine, { rows: [2] }, dir, '2026-01-02');
      expect(a).toBe(join(dir, 'cpu-2026-01-02.json'));
      expect(b).toBe(a);
      const file = JSON.parse(readFileSync(a, 'utf8'));
      expect(file.runs).toEqual({ head: { rows: [2] }, 'train-step': { ms: 3 } });
      expect(file.earlier).toEqual({ head: [{ rows: [1] }] });
      recordResult('head', machine, { rows: [3] }, dir, '2026-01-02');
      const third = JSON.parse(readFileSync(a, 'utf8'));
      expect(third.runs.head).toEqual({ rows: [3] });
      expect(third.earlier).toEqual({ head: [{ rows: [1] }, { rows: [2] }] });
      expect(file.machine.cpu).toBe('test cpu');
      // a run on another machine the same day names its own; the file's stays that of its first runs
      const gpu: Machine = { ...machine, cpu: 'gpu host', backendDetail: 'nvidia' };
      recordResult('train-step', gpu, { ms: 1 }, dir, '2026-01-02');
      const mixed = JSON.parse(readFileSync(a, 'utf8'));
      expect(mixed.machine.cpu).toBe('test cpu');
      expect(mixed.runs['train-step']).toEqual({ ms: 1, machine: gpu });
      expect(mixed.earlier['train-step']).toEqual([{ ms: 3 }]);
      writeFileSync(join(dir, 'cpu-2026-01-03.json'), 'not json');
      expect(() => recordResult('head', machine, {}, dir, '2026-01-03')).toThrow(/cpu-2026-01-03\.json: not a results file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces only the marked README section', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-readme-'));
    try {
      const path = join(dir, 'README.md');
      writeFileSync(path, '# B\n\nintro\n');
      updateReadmeSection(path, 'head:cpu', '| a |\n| 1 |');
      updateReadmeSection(path, 'head:cpu', '| a |\n| 2 |');
      expect(readFileSync(path, 'utf8')).toBe('# B\n\nintro\n\n<!-- results:head:cpu -->\n| a |\n| 2 |\n<!-- /results:head:cpu -->\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tabulates speed relative to the conventional head of the same batch', () => {
    const row = { kind: 'fix' as const, blocks: 4, density: null, gateBias: null, usedRatio: 1, minMs: 0, peakMiB: 10, medianCpuMs: 40, kernels: 131, dispatches: null };
    const result: HeadBenchResult = {
      bench: 'head',
      image: { height: 64, width: 64 },
      levels: [],
      channels: 8,
      repeats: 1,
      rows: [
        { ...row, head: 'FCOS (4 conv)', kind: 'conventional', batch: 1, medianMs: 30, usedGFlops: { avg: 1, min: 1, max: 1 }, fullGFlops: 1 },
        { ...row, head: 'Dynamic D8 Mid', kind: 'dynamic', blocks: 8, density: 'mid', batch: 1, medianMs: 20, medianCpuMs: 80, usedRatio: 0.25, usedGFlops: { avg: 1, min: 0.5, max: 1.5 }, fullGFlops: 4 },
      ],
    };
    const lines = headTable(result).split('\n');
    expect(lines[0]).toMatch(/\| peak MiB \| kernels \/ pass \|$/);
    expect(lines[2]).toBe('| FCOS (4 conv) | 1 | 30.0 | 1.00x | 40.0 | 1.00x | 1.000 | 1.000 | 1.000 | 10.0 | 131 |');
    expect(lines[3]).toBe('| Dynamic D8 Mid | 1 | 20.0 | 1.50x | 80.0 | 0.50x | 1.000 (0.500-1.500) | 4.000 | 0.250 | 10.0 | 131 |');
    // rows without samples (results recorded before they were kept) are judged by their medians
    expect(lines[5]).toBe('Goal, Dynamic D8 Mid faster than the FCOS head (wall time): batch 1: 1.50x (met).');
    // webgpu rows carry their dispatch counts: one more column
    const gpu = headTable({ ...result, rows: result.rows.map((r, i) => ({ ...r, dispatches: [249, 4918][i] })) }).split('\n');
    expect(gpu[0]).toMatch(/\| kernels \/ pass \| dispatches \/ pass \|$/);
    expect(gpu[3]).toBe('| Dynamic D8 Mid | 1 | 20.0 | 1.50x | 80.0 | 0.50x | 1.000 (0.500-1.500) | 4.000 | 0.250 | 10.0 | 131 | 4918 |');
  });

  it('sign-tests the interleaved rounds before it calls the goal met', () => {
    // P(at least k heads in n fair tosses): 5 of 5 1/32, 4 of 5 6/32, 7 of 8 9/256, 2 of 3 4/8
    expect(signTestP(5, 5)).toBeCloseTo(1 / 32, 12);
    expect(signTestP(4, 5)).toBeCloseTo(6 / 32, 12);
    expect(signTestP(7, 8)).toBeCloseTo(9 / 256, 12);
    expect(signTestP(2, 3)).toBeCloseTo(4 / 8, 12);
    expect(signTestP(0, 7)).toBe(1);
    const base = { kind: 'conventional' as const, blocks: 4, density: null, gateBias: null, usedRatio: 1, minMs: 0, peakMiB: 10, medianCpuMs: 40, kernels: 131, dispatches: null, batch: 1, head: 'FCOS (4 conv)', usedGFlops: { avg: 1, min: 1, max: 1 }, fullGFlops: 1 };
    const fcos = { ...base, medianMs: 30, samplesMs: [31, 30, 29, 30, 32] };
    const d8 = (samplesMs: number[], medianMs: number) => ({ ...base, kind: 'dynamic' as const, head: 'Dynamic D8 Mid', samplesMs, medianMs });
    // round by round 31/28, 30/29, 29/25, 30/27, 32/30: faster in each, p = 1/32
    expect(goalVerdict(fcos, d8([28, 29, 25, 27, 30], 28))).toBe('1.07x (met: faster in 5 of 5 interleaved rounds, sign test p = 0.031)');
    // a median ahead from 4 rounds of 5 (p = 6/32): the machine's drift, not the goal
    expect(goalVerdict(fcos, d8([32, 29.5, 28, 29, 31], 29.5))).toBe('1.02x (within noise: faster in 4 of 5 interleaved rounds, sign test p = 0.188)');
    expect(goalVerdict(fcos, d8([40, 41, 39, 35, 36], 39))).toBe('0.77x (not met: slower in 5 of 5 interleaved rounds, sign test p = 0.031)');
    // ties count for neither side
    expect(goalVerdict(fcos, d8([31, 30, 29, 30, 32], 30))).toBe('1.00x (within noise: faster in 0 of 5 interleaved rounds, sign test p = 1.000)');
    // the 2026-12-03 wasm run at 800x1333: 12 of 12 (p = 1/4096)
    const twelve = (ms: number) => Array.from({ length: 12 }, (_, i) => ms + i);
    expect(goalVerdict({ ...fcos, samplesMs: twelve(9000), medianMs: 9000 }, d8(twelve(8500), 8500))).toBe('1.06x (met: faster in 12 of 12 interleaved rounds, sign test p < 0.001)');
    // three rounds never decide: 3 of 3 happens by chance 1 time in 8
    expect(goalVerdict({ ...fcos, samplesMs: [31, 30, 29] }, d8([28, 29, 25], 28))).toBe('1.07x (within noise: faster in 3 of 3 interleaved rounds, sign test p = 0.125)');
  });
});
