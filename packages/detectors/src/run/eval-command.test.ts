import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COCOEvaluator, type CocoJson, parseResults } from '@dynhead/coco';
import { afterAll, describe, expect, it } from 'vitest';
import { activate } from '../../../../test/backends';
import { type DetectorConfig, fcosDynamicTiny } from '../config';
import { BatchSource } from '../data/batch-source';
import { syntheticDataset } from '../data/synthetic';
import { train } from '../train/trainer';
import { runEval } from './eval-command';
import { runInfer } from './infer-command';

const BCCD = fileURLToPath(new URL('../../../../../shared/datasets/bccd', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('runEval', () => {
  it('writes a COCO results file that scores the same stats; eval and infer use the categories the checkpoint keeps', async () => {
    await activate('wasm');
    const dir = mkdtempSync(join(tmpdir(), 'dynhead-eval-'));
    dirs.push(dir);
    // a one-iteration checkpoint, scoring everything so that every image has detections
    const config: DetectorConfig = { ...fcosDynamicTiny, test: { ...fcosDynamicTiny.test, scoreThreshold: 0 } };
    const { samples, decode } = syntheticDataset(2, 64, 48, 3);
    const data = new BatchSource(samples, { imagesDir: '/synthetic', input: config.input, batchSize: 2, hflipProb: 0, seed: 1, decode, cache: true });
    const full = JSON.parse(readFileSync(join(BCCD, 'annotations/instances_val.json'), 'utf8')) as CocoJson;
    const categories = [...full.categories].sort((a, b) => a.id - b.id).map(({ id, name }) => ({ id, name }));
    (await train(config, data, { outDir: dir, maxIters: 1, logFormat: 'none', categories })).detector.dispose();
    // three BCCD val images and their boxes
    const images = full.images.slice(0, 3);
    const ids = new Set(images.map((i) => i.id));
    const gt: CocoJson = { ...full, images, annotations: full.annotations.filter((a) => ids.has(a.image_id)) };
    const ann = join(dir, 'ann.json');
    writeFileSync(ann, JSON.stringify(gt));
    const results = join(dir, 'results.json');
    const ev = await runEval({ checkpoint: dir, ann, images: join(BCCD, 'images'), results });
    expect(ev.images).toBe(3);
    expect(ev.results.length).toBeGreaterThan(100);
    const read = parseResults(readFileSync(results, 'utf8'), gt, results);
    expect(read).toEqual(ev.results);
    expect(new COCOEvaluator().evaluate(gt, read).stats).toEqual(ev.stats);

    // the checkpoint keeps the categories: an annotation file with other ids is refused, naming both
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ ...gt, categories: gt.categories.map((c) => ({ ...c, id: c.id + 10 })), annotations: gt.annotations.map((a) => ({ ...a, category_id: a.category_id + 10 })) }));
    await expect(runEval({ checkpoint: dir, ann: other, images: join(BCCD, 'images') })).rejects.toThrow(
      `--ann: ${other} has categories [11 RBC, 12 WBC, 13 Platelets], the checkpoint was trained on [1 RBC, 2 WBC, 3 Platelets]`,
    );

    // and inference names what it finds
    const png = join(dir, 'infer.png');
    const r = await runInfer({ checkpoint: dir, image: join(BCCD, 'images', images[0].file_name), out: png, scoreThreshold: 0 });
    expect(r.classNames).toEqual(['RBC', 'WBC', 'Platelets']);
    expect(r.detections.scores.length).toBeGreaterThan(0);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
  }, 120_000);
});
