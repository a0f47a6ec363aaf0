import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '@dynhead/runtime';
import { describe, expect, it } from 'vitest';
import { BCCD_CATEGORIES, BCCD_IMAGES, tempDirs, tinyCheckpoint } from '../../../../test/fixtures';
import { bufferIO, main } from '../index';

const tempDir = tempDirs('infer');

describe('dynhead infer', () => {
  it('--json lists what the picture shows, named by the categories the checkpoint keeps', async () => {
    await useBackend('cpu');
    const dir = tempDir();
    await tinyCheckpoint(dir);
    const categories = BCCD_CATEGORIES;

    const png = join(dir, 'out.png');
    const infer = async (threshold: number) => {
      const io = bufferIO();
      const argv = ['--backend', 'cpu', '--json', 'infer', '--checkpoint', dir, '--image', join(BCCD_IMAGES, 'BloodImage_00000.jpg'), '--out', png, '--threshold', String(threshold)];
      expect(await main(argv, io)).toBe(0);
      return JSON.parse(io.stdout) as { detections: number; objects: { label: number; name: string; score: number; box: number[] }[] };
    };
    const all = await infer(0);
    expect(all.objects.length).toBe(all.detections);
    expect(all.detections).toBeGreaterThan(10);
    for (const o of all.objects) {
      expect(o.name).toBe(categories[o.label].name);
      expect(o.box).toHaveLength(4);
    }
    // best first, as the detections come
    const scores = all.objects.map((o) => o.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    // a threshold keeps the boxes scoring at least it
    const cut = scores[Math.floor(scores.length / 2)];
    const some = await infer(cut);
    expect(some.objects).toEqual(all.objects.filter((o) => o.score >= cut));
    expect(some.objects.length).toBeLessThan(all.objects.length);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');

    // several images: a PNG each in the --out folder, each listed as a single run lists it
    const images = ['BloodImage_00000.jpg', 'BloodImage_00001.jpg'].map((f) => join(BCCD_IMAGES, f));
    const outDir = join(dir, 'figures');
    const io = bufferIO();
    expect(await main(['--backend', 'cpu', '--json', 'infer', '--checkpoint', dir, '--image', ...images, '--out', outDir, '--threshold', String(cut)], io)).toBe(0);
    const many = JSON.parse(io.stdout) as { images: { image: string; out: string; objects: unknown[] }[] };
    expect(many.images.map((r) => [r.image, r.out])).toEqual([
      [images[0], join(outDir, 'BloodImage_00000.png')],
      [images[1], join(outDir, 'BloodImage_00001.png')],
    ]);
    expect(many.images[0].objects).toEqual(some.objects);
    for (const r of many.images) expect(readFileSync(r.out).subarray(1, 4).toString()).toBe('PNG');
    // two images of one name would overwrite each other's figure
    const clash = bufferIO();
    expect(await main(['--backend', 'cpu', 'infer', '--checkpoint', dir, '--image', images[0], join(dir, 'BloodImage_00000.jpg'), '--out', outDir], clash)).toBe(1);
    expect(clash.stderr).toContain(`dynhead: --image: ${images[0]} and ${join(dir, 'BloodImage_00000.jpg')} would both be drawn to ${join(outDir, 'BloodImage_00000.png')}\n`);
  }, 120_000);
});
