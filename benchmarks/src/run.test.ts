import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { activate } from '../../test/backends';
import type { HeadBenchResult } from './head';
import { parseBenchName, runBench } from './run';

describe('runBench (what `dynhead bench NAME` calls)', () => {
  beforeAll(async () => {
    await activate('cpu');
  });

  it('records the head bench as JSON with the machine, and draws its chart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-run-'));
    try {
      // an --out directory that does not exist yet
      const r = await runBench('head', { backend: 'cpu', backendDetail: 'cpu', quick: true, channels: 32, only: ['FCOS'], batches: [1], repeats: 1, outDir: join(dir, 'new', 'results') });
      expect(r.resultsPath).toMatch(/cpu-\d{4}-\d{2}-\d{2}\.json$/);
      const file = JSON.parse(readFileSync(r.resultsPath as string, 'utf8'));
      expect(file.backend).toBe('cpu');
      expect(file.machine.cores).toBeGreaterThan(0);
      const head = file.runs['head-quick'] as HeadBenchResult;
      expect(r.chartPath).toMatch(/head-quick-cpu-\d{4}-\d{2}-\d{2}\.png$/);
      expect(head.image).toEqual({ height: 128, width: 160 });
      expect(head.levels).toEqual([
        [16, 20],
        [8, 10],
        [4, 5],
        [2, 3],
        [1, 2],
      ]);
      expect(head.rows.map((row) => row.head)).toEqual(['FCOS (4 conv)']);
      // 428 pixels x 2 towers x 4 convs x (32*32*9 + 32).
      expect(head.rows[0].fullGFlops).toBeCloseTo((428 * 8 * (32 * 32 * 9 + 32)) / 2 ** 30, 12);
      expect(existsSync(r.chartPath as string)).toBe(true);
      const png = PNG.sync.read(readFileSync(r.chartPath as string));
      expect(png.width).toBeGreaterThan(0);
      expect(r.markdown).toContain('| FCOS (4 conv) | 1 |');
      expect(r.markdown).toContain('Machine: ');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the head bench on another image size under its own key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-run-'));
    try {
      const r = await runBench('head', { backend: 'cpu', backendDetail: 'cpu', quick: false, image: { height: 64, width: 100 }, channels: 32, only: ['FCOS'], batches: [1], repeats: 1, outDir: dir });
      const head = JSON.parse(readFileSync(r.resultsPath as string, 'utf8')).runs['head-64x100'] as HeadBenchResult;
      // the detector pads to a multiple of 32: 64x128, so P3 is 8x16
      expect(head.levels).toEqual([
        [8, 16],
        [4, 8],
        [2, 4],
        [1, 2],
        [1, 1],
      ]);
      expect(r.chartPath).toMatch(/head-64x100-cpu-\d{4}-\d{2}-\d{2}\.png$/);
      expect(r.markdown).toContain('(image 64x100).');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the benches when given an unknown one', () => {
    expect(parseBenchName('train-step')).toBe('train-step');
    expect(() => parseBenchName('speed')).toThrow("unknown bench 'speed': expected one of head, train-step, sparse-conv");
  });
});
