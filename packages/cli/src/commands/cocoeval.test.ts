import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../../../test/fixtures';
import { bufferIO, main } from '../index';

// Ground truth, detections and the 12 stats pycocotools printed for them.
const CASE = fileURLToPath(new URL('../../../../../shared/cocoeval-cases/case-100-subset.json', import.meta.url));
const tempDir = tempDirs('cocoeval');

describe('dynhead cocoeval', () => {
  it("prints pycocotools' 12 stats for a results file", async () => {
    const c = JSON.parse(readFileSync(CASE, 'utf8')) as { gt: unknown; detections: unknown; stats: number[] };
    const dir = tempDir();
    const gt = join(dir, 'gt.json');
    const dt = join(dir, 'dt.json');
    writeFileSync(gt, JSON.stringify(c.gt));
    writeFileSync(dt, JSON.stringify(c.detections));
    const io = bufferIO();
    expect(await main(['--json', 'cocoeval', '--gt', gt, '--dt', dt], io)).toBe(0);
    const stats = JSON.parse(io.stdout).stats as number[];
    expect(stats).toHaveLength(12);
    for (const [i, s] of stats.entries()) expect(Math.abs(s - c.stats[i]), `stat ${i}`).toBeLessThan(1e-9);
    const text = bufferIO();
    expect(await main(['cocoeval', '--gt', gt, '--dt', dt], text)).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe(` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ${c.stats[0].toFixed(3)}`);
  });
});
