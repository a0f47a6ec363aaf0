import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  COCOEvaluator,
  CocoDataset,
  CocoFormatError,
  type CocoJson,
  loadImage,
  parseResults,
  readImageHeader,
  readResults,
  runCocoEval,
  serializeResults,
  setImageDecoder,
  writeResults,
} from './index';
import { BCCD_IMAGES, BCCD_VAL, COCOEVAL_CASES } from './test-support/shared';

const dir = mkdtempSync(join(tmpdir(), 'dynhead-coco-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const val: CocoJson = JSON.parse(readFileSync(BCCD_VAL, 'utf8'));

describe('CocoDataset', () => {
  const ds = new CocoDataset(val, { source: BCCD_VAL, imagesDir: BCCD_IMAGES });

  it('maps category ids to contiguous labels in id order and back', () => {
    expect(ds.numClasses).toBe(3);
    expect(ds.categories.map((c) => c.name)).toEqual(['RBC', 'WBC', 'Platelets']);
    expect([1, 2, 3].map((id) => ds.labelOf(id))).toEqual([0, 1, 2]);
    expect([0, 1, 2].map((l) => ds.categoryIdOf(l))).toEqual([1, 2, 3]);
    expect(() => ds.labelOf(9)).toThrow(/unknown category id 9/);
    expect(() => ds.categoryIdOf(3)).toThrow(/label 3 out of range \[0, 3\)/);
    const shuffled = new CocoDataset({
      ...val,
      categories: [
        { id: 30, name: 'c' },
        { id: 10, name: 'a' },
        { id: 20, name: 'b' },
      ],
      annotations: [],
    });
    expect([10, 20, 30].map((id) => shuffled.labelOf(id))).toEqual([0, 1, 2]);
  });

  it('targets are the JSON boxes as corners, with labels', () => {
    const im = val.images[3];
    const anns = val.annotations.filter((a) => a.image_id === im.id);
    const t = ds.targets(im.id);
    expect(Array.from(t.boxes)).toEqual(anns.flatMap((a) => [a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]]));
    expect(Array.from(t.labels)).toEqual(anns.map((a) => a.category_id - 1));
    expect(ds.imagePath(im.id)).toBe(`${BCCD_IMAGES}/${im.file_name}`);
  });

  it('refuses structurally broken JSON with every problem listed', () => {
    const bad = {
      ...val,
      annotations: [
        { ...val.annotations[0], bbox: [0, 0, 5] },
        { ...val.annotations[1], image_id: -4 },
      ],
    };
    try {
      new CocoDataset(bad, { source: 'bad.json' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CocoFormatError);
      expect((err as CocoFormatError).problems.map((p) => `${p.file} ${p.path}`)).toEqual(['bad.json annotations[0].bbox', 'bad.json annotations[1].image_id']);
    }
  });

  it('detections that are the GT boxes, scaled and mapped back with toCocoDetections, score AP 1', () => {
    const s: [number, number] = [800 / 480, 1067 / 640];
    const dets = val.images.flatMap((im) => {
      const t = ds.targets(im.id);
      const boxes = t.boxes.map((v, i) => v * (i % 2 === 0 ? s[1] : s[0]));
      return ds.toCocoDetections(im.id, boxes, new Float32Array(t.labels.length).fill(1), t.labels, s);
    });
    expect(dets).toHaveLength(val.annotations.length);
    const { stats } = new COCOEvaluator().evaluate(ds, dets);
    expect(stats[0]).toBe(1);
    expect(stats[8]).toBe(1);
  });
});

describe('image decoding', () => {
  it('decodes PNG (RGBA and grey) to RGB exactly, and JPEG to its declared size', async () => {
    const w = 3;
    const h = 2;
    const rgba = Buffer.from([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 10, 20, 30, 255, 40, 50, 60, 255, 70, 80, 90, 255]);
    writeFileSync(join(dir, 'rgba.png'), PNG.sync.write({ width: w, height: h, data: rgba } as PNG));
    const grey = Buffer.from([0, 50, 100, 150, 200, 255]);
    writeFileSync(
      join(dir, 'grey.png'),
      PNG.sync.write({ width: w, height: h, data: grey } as PNG, {
        colorType: 0,
        inputColorType: 0,
        inputHasAlpha: false,
      }),
    );
    const a = await loadImage(join(dir, 'rgba.png'));
    expect([a.width, a.height]).toEqual([3, 2]);
    expect(Array.from(a.data)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    const g = await loadImage(join(dir, 'grey.png'));
    expect(Array.from(g.data)).toEqual(Array.from(grey).flatMap((v) => [v, v, v]));
    const jpg = await loadImage(`${BCCD_IMAGES}/${val.images[0].file_name}`);
    expect([jpg.width, jpg.height, jpg.data.length]).toEqual([640, 480, 640 * 480 * 3]);
    expect(await readImageHeader(`${BCCD_IMAGES}/${val.images[0].file_name}`)).toEqual({ width: 640, height: 480, format: 'jpeg' });
  });

  it('uses an injected decoder (the browser path) instead of sharp', async () => {
    const seen: string[] = [];
    setImageDecoder(async (bytes, source) => {
      seen.push(source);
      return {
        data: new Uint8Array(3),
        width: 1,
        height: 1 + bytes.length * 0,
      };
    });
    try {
      const im = await loadImage(join(dir, 'rgba.png'));
      expect(im.width).toBe(1);
      expect(seen).toEqual([join(dir, 'rgba.png')]);
    } finally {
      setImageDecoder(null);
    }
    await expect(loadImage(join(dir, 'nope.png'))).rejects.toThrow(/ENOENT/);
  });
});

describe('results files', () => {
  const c = JSON.parse(readFileSync(`${COCOEVAL_CASES}case-101-tight.json`, 'utf8'));

  it('round-trip exactly through writeResults / readResults and evaluate identically', async () => {
    const path = join(dir, 'results.json');
    await writeResults(path, c.detections);
    const back = await readResults(path, c.gt);
    expect(back).toEqual(c.detections);
    expect(parseResults(serializeResults([]), c.gt)).toEqual([]);
    const ev = new COCOEvaluator();
    expect(ev.evaluate(c.gt, back).stats).toEqual(ev.evaluate(c.gt, c.detections).stats);
  });

  it('parseResults names the file and entry at fault', () => {
    expect(() => parseResults('[{"image_id": 0', c.gt, 'r.json')).toThrow(/r\.json: not JSON/);
    expect(() => parseResults('{"a": 1}', c.gt, 'r.json')).toThrow(/r\.json: a results file is a JSON array of detections, got an object/);
    expect(() => parseResults('[{"image_id": 0, "category_id": 1, "bbox": [0, 0, "1", 1], "score": 1}]', c.gt, 'r.json')).toThrow(
      /r\.json: \[0\]\.bbox: expected \[x, y, width, height\] of 4 finite numbers/,
    );
  });
});

describe('cocoeval command', () => {
  const c = JSON.parse(readFileSync(`${COCOEVAL_CASES}case-edge.json`, 'utf8'));
  const gt = join(dir, 'gt.json');
  const dt = join(dir, 'dt.json');
  writeFileSync(gt, JSON.stringify(c.gt));
  writeFileSync(dt, JSON.stringify(c.detections));
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) },
    };
  };

  it('--json prints the 12 stats of pycocotools', async () => {
    const o = capture();
    expect(await runCocoEval({ gt, dt, json: true }, o.io)).toBe(0);
    const { stats } = JSON.parse(o.out.join('\n'));
    stats.forEach((s: number, i: number) => {
      expect(Math.abs(s - c.stats[i])).toBeLessThan(1e-9);
    });
  });

  it('prints the summary lines with pycocotools rounding', async () => {
    const o = capture();
    expect(await runCocoEval({ gt, dt }, o.io)).toBe(0);
    const lines = o.out.join('\n').split('\n');
    expect(lines).toHaveLength(12);
    lines.forEach((l, i) => {
      expect(l.endsWith(`= ${c.stats[i].toFixed(3)}`)).toBe(true);
    });
    expect(lines[9]).toBe(' Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.550');
  });

  it('malformed results or missing files: one line each, exit 2', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify([
        { image_id: 77, category_id: 1, bbox: [0, 0, 1, 1], score: 1 },
        { image_id: 1, category_id: 1, bbox: [0, 0, 1, Number.NaN], score: 1 },
      ]),
    );
    const o = capture();
    expect(await runCocoEval({ gt, dt: bad }, o.io)).toBe(2);
    expect(o.err).toEqual([
      `error: ${bad}: [0].image_id: image id 77 is not in the ground truth (results must only name GT images)`,
      `error: ${bad}: [1].bbox: expected [x, y, width, height] of 4 finite numbers, got [0,0,1,null]`,
    ]);
    const m = capture();
    expect(await runCocoEval({ gt: join(dir, 'missing.json'), dt }, m.io)).toBe(2);
    expect(m.err).toEqual([`error: ${join(dir, 'missing.json')}: cannot read: ENOENT`]);
  });
});
